#!/usr/bin/ruby
# examples/activerecord/lost_update.rb -- occ under Active Record's own
# optimistic locking, and under its updated_at timestamps.
#
# Part 1: Account has a lock_version column, so Active Record locks it
# optimistically: a save sends SET ..., lock_version = read + 1
# WHERE id = ? AND lock_version = read, and a save or destroy that finds no
# row raises ActiveRecord::StaleObjectError.  occ.enable adopts lock_version,
# so writers that bypass Active Record are checked too.
#
# Part 2: Note has no lock_version but Rails-style created_at/updated_at;
# occ protects updated_at as a timestamp version.  The time Active Record
# assigns on save is a proposal that occ keeps.  An application that kept the
# updated_at it showed (its ETag) states it with SET LOCAL occ.if_match, and
# a few lines map occ's 40V01 to ActiveRecord::StaleObjectError.
#
# Both parts run with the table in lax and in strict mode.
#
# Connects with the libpq environment (PGHOST, PGPORT, PGUSER, PGDATABASE).
# Creates its own tables, drops them at the end, and exits non-zero if
# anything does not happen as told.  Debian 12: apt-get install
# ruby-activerecord ruby-pg; then ruby examples/activerecord/lost_update.rb

require "active_record"
require "pg"

ACCOUNTS = "occ_example_ar_accounts_#{Process.pid}"
NOTES = "occ_example_ar_notes_#{Process.pid}"

$failures = []

def say(text = "")
  puts text
  $stdout.flush
end

# Record a failure when got differs from expected; say what was seen.
def check(what, got, expected)
  if got == expected
    say "    [ok] #{what}: #{got.inspect}"
    true
  else
    say "    [FAILED] #{what}: expected #{expected.inspect}, got #{got.inspect}"
    $failures << what
    false
  end
end

# The SQLSTATE of an error from ruby-pg, directly or as the cause of an
# Active Record error; nil for anything else.
def sqlstate(error)
  error = error.cause if error.is_a?(ActiveRecord::ActiveRecordError)
  error.is_a?(PG::Error) && error.result ? error.result.error_field(PG::PG_DIAG_SQLSTATE) : nil
end

# Run the block; return what it raised (nil if nothing), saying so.
def outcome
  yield
  say "    -> no error"
  nil
rescue StandardError => e
  say "    -> #{e.class}#{sqlstate(e) ? " (SQLSTATE #{sqlstate(e)})" : ""}: #{e.message.lines.first.strip}"
  e
end

# The check for a block that must raise an error of class klass, or
# (with state) an Active Record or ruby-pg error of that SQLSTATE.
def check_raises(what, klass, state = nil, &block)
  e = outcome(&block)
  name = e && (e.is_a?(klass) ? klass.name : e.class.name)
  got = state ? [name, e && sqlstate(e)] : name
  check(what, got, state ? [klass.name, state] : klass.name)
end

ActiveRecord::Base.establish_connection(adapter: "postgresql", application_name: "activerecord")

# --- The application's code ------------------------------------------------

class ApplicationRecord < ActiveRecord::Base
  self.abstract_class = true

  # Save or destroy in the block, stating the version the client read
  # (its ETag) through occ.if_match; occ's 40V01 becomes Active Record's
  # own StaleObjectError.
  def with_if_match(etag, action = "update")
    transaction do
      self.class.connection.execute("SET LOCAL occ.if_match = #{self.class.connection.quote(etag)}")
      yield
    end
  rescue ActiveRecord::StatementInvalid => e
    raise unless e.cause.is_a?(PG::Error) && e.cause.result&.error_field(PG::PG_DIAG_SQLSTATE) == "40V01"
    raise ActiveRecord::StaleObjectError.new(self, action)
  end
end

class Account < ApplicationRecord   # has lock_version: optimistic locking
  self.table_name = ACCOUNTS
end

class Note < ApplicationRecord      # has created_at/updated_at, no lock_version
  self.table_name = NOTES

  # The ETag of the version read: updated_at, to the microsecond.
  def etag
    %("#{updated_at.utc.iso8601(6)}")
  end
end

# ----------------------------------------------------------------------------

# Another client that bypasses Active Record: plain ruby-pg.
RAW = PG.connect(application_name: "raw")

def raw(sql, *params)
  RAW.exec_params(sql, params).cmd_tuples
end

def db_account(id)
  RAW.exec_params("SELECT balance, lock_version FROM #{ACCOUNTS} WHERE id = $1", [id])
     .values.first&.map(&:to_i)
end

def accounts(mode)
  say
  say "== Active Record's lock_version, #{mode} mode"
  Account.connection.execute("SELECT occ.set_mode('#{ACCOUNTS}', '#{mode}')")
  id = Account.create!(owner: "Alice and Bob", balance: 100).id
  say "Account #{id} created with balance 100, lock_version 0."

  say "a. A save of the current row"
  acc = Account.find(id)
  acc.update!(balance: 150)
  check("the saved object's lock_version", acc.lock_version, 1)
  check("the row (balance, lock_version): occ advanced it once, not twice",
        db_account(id), [150, 1])

  say "b. Alice and Bob load the account; Alice saves; Bob saves"
  alice = Account.find(id)
  bob = Account.find(id)
  alice.update!(balance: alice.balance + 50)
  check_raises("Bob's stale save", ActiveRecord::StaleObjectError) { bob.update!(balance: bob.balance - 30) }
  check("the row keeps Alice's save", db_account(id), [200, 2])

  say "c. Writers that bypass Active Record's locking"
  say "   raw client: UPDATE ... SET balance = 0 WHERE id = $1 (states nothing)"
  if mode == "strict"
    check_raises("refused", PG::Error, "23V01") { raw("UPDATE #{ACCOUNTS} SET balance = 0 WHERE id = $1", id) }
  else
    check("lax lets it through, and advances lock_version",
          [raw("UPDATE #{ACCOUNTS} SET balance = 0 WHERE id = $1", id), db_account(id)], [1, [0, 3]])
    check_raises("so Alice's copy is stale to Active Record", ActiveRecord::StaleObjectError) do
      alice.update!(balance: 1)
    end
    raw("UPDATE #{ACCOUNTS} SET balance = 200, lock_version = 3 WHERE id = $1", id)
  end
  say "   raw client: UPDATE ... SET balance = 0, lock_version = 1 WHERE id = $1 (stale)"
  check_raises("refused", PG::Error, "40V01") do
    raw("UPDATE #{ACCOUNTS} SET balance = 0, lock_version = 1 WHERE id = $1", id)
  end
  say "   Active Record's update_columns (skips locking): UPDATE ... SET balance = $1 WHERE id = $2"
  stale = Account.find(id)
  if mode == "strict"
    check_raises("refused", ActiveRecord::StatementInvalid, "23V01") { stale.update_columns(balance: 0) }
  else
    outcome { stale.update_columns(balance: stale.balance) }
  end
  say "   Active Record's update_all / update_counters send lock_version = COALESCE(lock_version, 0) + 1,"
  say "   which states the current version: they opt out, in strict too"
  check("update_all rows", Account.where(id: id).update_all(balance: 200), 1)
  v = db_account(id)[1]

  say "d. destroy"
  alice = Account.find(id)
  bob = Account.find(id)
  alice.update!(balance: 10)
  check_raises("Bob's stale destroy", ActiveRecord::StaleObjectError) { bob.destroy! }
  check("the row is still there, with Alice's save", db_account(id), [10, v + 1])
  alice.destroy!
  check("Alice's destroy of the current row removed it", db_account(id), nil)

  say "e. The application kept the lock_version it showed (Rails' hidden form field)"
  id = Account.create!(owner: "Carol", balance: 5).id
  form_version = Account.find(id).lock_version
  raw("UPDATE #{ACCOUNTS} SET balance = 6, lock_version = $2 WHERE id = $1", id, form_version)
  acc = Account.find(id)
  acc.lock_version = form_version
  check_raises("a save from the stale form", ActiveRecord::StaleObjectError) { acc.update!(balance: 7) }
  Account.find(id).destroy!
end

def db_note(id)
  RAW.exec_params("SELECT body, updated_at FROM #{NOTES} WHERE id = $1", [id]).values.first
end

def notes(mode)
  say
  say "== Rails' updated_at as occ's timestamp version, #{mode} mode"
  Note.connection.execute("SELECT occ.set_mode('#{NOTES}', '#{mode}')")
  note = Note.create!(body: "first")
  id = note.id
  created = note.updated_at
  say "Note #{id} created; updated_at #{created.utc.iso8601(6)}"

  say "a. A plain save: Active Record sends SET body = $1, updated_at = $2 (its own clock)"
  if mode == "lax"
    note.update!(body: "second")
    say "    Active Record set updated_at #{note.updated_at.utc.iso8601(6)}"
    check("occ kept that proposal: the row's updated_at equals the object's",
          Note.find(id).updated_at, note.updated_at)
    check("and it is later than before", note.updated_at > created, true)
  else
    check_raises("strict: a proposal states nothing, so it is refused",
                 ActiveRecord::StatementInvalid, "23V01") { note.update!(body: "second") }
    note.reload
  end
  say "   The same save stating the ETag the client read (#{note.etag}):"
  note.with_if_match(note.etag) { note.update!(body: "third") }
  check("saved, and occ kept Active Record's updated_at",
        [Note.find(id).body, Note.find(id).updated_at], ["third", note.updated_at])

  say "b./e. The client kept its ETag; another client writes; the client saves"
  mine = Note.find(id)
  etag = mine.etag
  raw("UPDATE #{NOTES} SET body = 'theirs' WHERE id = $1 AND updated_at = $2", id, mine.updated_at.utc.iso8601(6))
  check_raises("the save under the stale ETag", ActiveRecord::StaleObjectError) do
    mine.with_if_match(etag) { mine.update!(body: "mine") }
  end
  check("the other client's write is kept", db_note(id)[0], "theirs")

  say "c. A raw writer that states a stale updated_at"
  check_raises("refused", PG::Error, "40V01") do
    raw("UPDATE #{NOTES} SET body = 'x', updated_at = $2 WHERE id = $1", id, created.utc.iso8601(6))
  end

  say "d. destroy: DELETE ... WHERE id = $1 states nothing; with the ETag it does"
  if mode == "strict"
    check_raises("strict: plain destroy refused", ActiveRecord::StatementInvalid, "23V01") { Note.find(id).destroy! }
  end
  check_raises("destroy under the stale ETag", ActiveRecord::StaleObjectError) do
    mine.with_if_match(etag, "destroy") { mine.destroy! }
  end
  current = Note.find(id)
  current.with_if_match(current.etag, "destroy") { current.destroy! }
  check("destroy under the current ETag removed it", db_note(id), nil)
end

begin
  conn = ActiveRecord::Base.connection
  conn.execute("CREATE EXTENSION IF NOT EXISTS occ")
  conn.execute(<<~SQL)
    CREATE TABLE #{ACCOUNTS} (id bigserial PRIMARY KEY, owner text NOT NULL,
      balance integer NOT NULL, lock_version integer NOT NULL DEFAULT 0)
  SQL
  conn.execute(<<~SQL)
    CREATE TABLE #{NOTES} (id bigserial PRIMARY KEY, body text NOT NULL,
      created_at timestamptz(6) NOT NULL, updated_at timestamptz(6) NOT NULL)
  SQL
  conn.execute("SELECT occ.enable('#{ACCOUNTS}', 'lock_version')")
  conn.execute("SELECT occ.enable('#{NOTES}', 'updated_at', 'timestamp')")
  say "Active Record #{ActiveRecord.version}, ruby-pg #{PG::VERSION}, Ruby #{RUBY_VERSION}"
  say "Tables #{ACCOUNTS} (occ on lock_version) and #{NOTES} (occ on updated_at)."
  %w[lax strict].each do |mode|
    [method(:accounts), method(:notes)].each do |part|
      part.call(mode)
    rescue StandardError => e
      say "[FAILED] unexpected #{e.class}: #{e.message}"
      $failures << "#{part.name} (#{mode}): unexpected error"
    end
  end
rescue StandardError => e
  say "[FAILED] unexpected #{e.class}: #{e.message}"
  say e.backtrace.first(5).join("\n")
  $failures << "unexpected error"
ensure
  begin
    RAW.exec("DROP TABLE IF EXISTS #{ACCOUNTS}, #{NOTES}")
  rescue StandardError => e
    say "could not drop the tables: #{e.message}"
  end
end

say
if $failures.empty?
  say "All checks passed."
else
  say "#{$failures.size} check(s) FAILED: #{$failures.join("; ")}"
  exit 1
end
