
# Copyright (c) 2026, the occ developers
#
# 007_hash_tags.pl: the tag of a row of a hash-kind table is the hash of the
# row's content, so a copy of the row, or the row read another way, must
# give the same tag.  This test records occ.etag(row) for every row of two
# hash-kind tables on a primary and requires exactly those tags
#
#  (a) after pg_dump -Fc and pg_restore into a fresh database, where every
#      user-defined type has another OID, the dropped columns are gone and
#      a compressed value may be compressed with another method; there a
#      write stating a tag read before the dump is accepted, a stale one is
#      refused with 40V01, and occ.tables still shows the kind and the
#      excluded column;
#  (b) on a streaming standby;
#  (c) on a logical subscriber whose types and tables were created on their
#      own (other OIDs, no dropped columns, partitions in the parent's
#      column order) and protected the same way;
#  (d) in sessions with other TimeZone, DateStyle, extra_float_digits,
#      search_path, lc_monetary and quote_all_identifiers.
#
# The rows hold every kind of value whose stored bytes may differ between
# two copies of the same content: enums, composites, arrays and ranges of
# user-defined types and a domain (their stored bytes hold OIDs), regclass,
# a text value stored out of line and one stored compressed, float8 -0, a
# NaN typed in and one computed (whose bits differ on some machines), an
# array whose null bitmap outlived its last NULL, numeric scale, jsonb and
# money.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 'logical');
$primary->start;

# ==== the source database ====

$primary->safe_psql('postgres', 'CREATE DATABASE src');
$primary->safe_psql(
	'src', q{
CREATE EXTENSION occ;

CREATE SCHEMA ref;
CREATE TABLE ref.codes (code text PRIMARY KEY);

-- a label added later, sorted before an older one
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
ALTER TYPE mood ADD VALUE 'meh' BEFORE 'ok';
-- a composite type that lost an attribute
CREATE TYPE address AS (street text, floor int, zip int, tone mood);
ALTER TYPE address DROP ATTRIBUTE floor;
CREATE DOMAIN positive_int AS int CHECK (VALUE > 0);
CREATE TYPE floatrange AS RANGE (subtype = float8);

-- "retired" is dropped: a restored copy has one column fewer
CREATE TABLE items (
    id int PRIMARY KEY,
    price numeric(12,3),
    body text,
    retired int,
    tone mood,
    addr address,
    moods mood[],
    qty positive_int,
    span floatrange,
    home regclass,
    seen_at timestamptz,
    ratio float8,
    doc jsonb,
    labels text[],
    cash money,
    synced_at timestamptz
);
ALTER TABLE items DROP COLUMN retired;
SELECT occ.enable('items', kind => 'hash', exclude => '{synced_at}');

CREATE TABLE readings (region text NOT NULL, id int NOT NULL, retired int,
                       tone mood, val numeric(8,2), note text,
                       synced_at timestamptz,
                       PRIMARY KEY (region, id)) PARTITION BY LIST (region);
ALTER TABLE readings DROP COLUMN retired;
CREATE TABLE readings_north PARTITION OF readings FOR VALUES IN ('north');
-- a partition whose own columns are in another order
CREATE TABLE readings_south (synced_at timestamptz, note text, val numeric(8,2),
                             tone mood, id int NOT NULL, region text NOT NULL);
ALTER TABLE readings ATTACH PARTITION readings_south FOR VALUES IN ('south');
SELECT occ.enable('readings', kind => 'hash', exclude => '{synced_at}');
});

# Rows in place before the standby's base backup and the subscription's
# initial copy.  Row 1's body (10 kB of hexadecimal digits) is stored out
# of line uncompressed, row 2's (30 kB of "abc") compressed; row 3 is all
# NULLs.
$primary->safe_psql(
	'src', q{
INSERT INTO ref.codes VALUES ('A');
INSERT INTO items VALUES
  (1, 12.500, (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 320) g),
   'happy', ROW('Main St', 12345, 'meh'), '{sad,meh,NULL,happy}', 7, '[-0,2.5)',
   'ref.codes', '2024-02-29 23:59:59.999999+05:30', '-0',
   '{"b": [1, 2.50, null], "a": "x"}', '{a,b}', 1234.5, '2024-01-01 00:00:00+00'),
  (2, 0.000, repeat('abc', 10000), 'meh', ROW(NULL, NULL, NULL), '{}', 1, 'empty',
   'pg_class', 'infinity', 'NaN', '[]', '{NULL}', -0.01, NULL),
  (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
   NULL, NULL);
INSERT INTO readings VALUES
  ('north', 1, 'ok', 1.50, 'n1', '2024-01-01 00:00:00+00'),
  ('north', 2, 'happy', 0, 'n2', NULL),
  ('south', 3, 'sad', -0.25, 's3', NULL),
  ('south', 4, NULL, NULL, NULL, NULL);
});

# ==== the standby and the subscriber ====

$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;

# The subscriber builds the same tables its own way: types in another
# order (so with other OIDs), labels and attributes as they ended up on the
# primary, no dropped columns, every partition in the parent's column
# order.  The columns of each table are the primary's, in the same order:
# the column list is part of what is hashed.
my $subscriber = PostgreSQL::Test::Cluster->new('subscriber');
$subscriber->init;
$subscriber->start;
$subscriber->safe_psql('postgres', 'CREATE DATABASE app');
$subscriber->safe_psql(
	'app', q{
CREATE EXTENSION occ;
CREATE TYPE floatrange AS RANGE (subtype = float8);
CREATE DOMAIN positive_int AS int CHECK (VALUE > 0);
CREATE TYPE mood AS ENUM ('sad', 'meh', 'ok', 'happy');
CREATE TYPE address AS (street text, zip int, tone mood);
CREATE SCHEMA ref;
CREATE TABLE ref.codes (code text PRIMARY KEY);

CREATE TABLE items (
    id int PRIMARY KEY, price numeric(12,3), body text, tone mood,
    addr address, moods mood[], qty positive_int, span floatrange,
    home regclass, seen_at timestamptz, ratio float8, doc jsonb,
    labels text[], cash money, synced_at timestamptz);
SELECT occ.enable('items', kind => 'hash', exclude => '{synced_at}');

CREATE TABLE readings (region text NOT NULL, id int NOT NULL, tone mood,
                       val numeric(8,2), note text, synced_at timestamptz,
                       PRIMARY KEY (region, id)) PARTITION BY LIST (region);
CREATE TABLE readings_north PARTITION OF readings FOR VALUES IN ('north');
CREATE TABLE readings_south PARTITION OF readings FOR VALUES IN ('south');
SELECT occ.enable('readings', kind => 'hash', exclude => '{synced_at}');
});

# Published through the partitioned table, so that the subscriber routes
# rows into its own partitions.
$primary->safe_psql('src',
	'CREATE PUBLICATION hash_pub FOR TABLE ref.codes, items, readings'
	  . ' WITH (publish_via_partition_root = true)');
my $pub_connstr = $primary->connstr . ' dbname=src';
$subscriber->safe_psql('app',
	"CREATE SUBSCRIPTION hash_sub CONNECTION '$pub_connstr' PUBLICATION hash_pub"
);
$subscriber->poll_query_until('app',
	"SELECT bool_and(srsubstate IN ('r', 's')) FROM pg_subscription_rel")
  or die 'the initial copy of the subscription did not finish';

# Writes after the backup and the initial copy: the standby and the
# subscriber see them only through the WAL and the replication stream.
# Row 4 holds NaNs computed by arithmetic, which on x86 carry the sign bit
# that 'NaN' does not; its labels keep a null bitmap without a NULL.
$primary->safe_psql(
	'src', q{
INSERT INTO items VALUES
  (4, 1e-3, 'short', 'sad', ROW('Side St', NULL, 'happy'), '{happy}', 2,
   floatrange('Infinity'::float8 + '-Infinity'::float8, NULL),
   'items', '1999-12-31 23:59:59+00', 'Infinity'::float8 + '-Infinity'::float8,
   '{"n": 1.000}', '{x,NULL,z}', 0, '2024-01-01 00:00:00+00'),
  (5, 99.990, repeat('xyz', 4000), 'ok', ROW('Quoted "St"', 1, 'sad'), '{ok,ok}', 3,
   '(,0.30000000000000004]', 'ref.codes', '2038-01-19 03:14:08+00',
   0.1::float8 + 0.2::float8, '{"deep": {"k": [true, false]}}', '{}', 1e6, NULL);

SELECT occ.etag(i) AS tag FROM items i WHERE id = 1 \gset
BEGIN;
SET LOCAL occ.if_match = :'tag';
UPDATE items SET price = 13.250, seen_at = seen_at + interval '1 microsecond'
 WHERE id = 1;
COMMIT;

UPDATE items SET labels[2] = 'y' WHERE id = 4;
UPDATE items SET synced_at = '2024-06-01 00:00:00+00' WHERE id = 2;

SELECT occ.etag(i) AS tag FROM items i WHERE id = 3 \gset
BEGIN;
SET LOCAL occ.if_match = :'tag';
DELETE FROM items WHERE id = 3;
COMMIT;
INSERT INTO items (id) VALUES (6);

SELECT occ.etag(r) AS tag FROM readings r WHERE region = 'north' AND id = 2 \gset
BEGIN;
SET LOCAL occ.if_match = :'tag';
UPDATE readings SET region = 'south', val = 0.10 WHERE region = 'north' AND id = 2;
COMMIT;
});

# Every row's tag, through the partitioned table and through a partition.
# Names are qualified: one session below has no "public" in its path.
my $tags_query = q{
SELECT 'items', i.id::text, occ.etag(i) FROM public.items i
UNION ALL
SELECT 'readings', r.region || '/' || r.id, occ.etag(r) FROM public.readings r
UNION ALL
SELECT 'readings_south', s.region || '/' || s.id, occ.etag(s)
  FROM public.readings_south s
ORDER BY 1, 2;
};
# The rows as text: what a hash of the text form would depend on.
my $text_query = q{
SELECT i::text FROM public.items i
UNION ALL
SELECT r::text FROM public.readings r
ORDER BY 1;
};
my $tables_query = q{
SELECT table_name::text, kind, coalesce(mode, '(null)'), effective_mode,
       excluded_columns
  FROM occ.tables ORDER BY 1;
};

my $src_tags = $primary->safe_psql('src', $tags_query);
my %src_tag;
for my $line (split /\n/, $src_tags)
{
	my ($table, $key, $tag) = split /\|/, $line;
	$src_tag{"$table $key"} = $tag;
}

# The source is what we meant to build.
is( join(' ', sort keys %src_tag),
	join(' ',
		'items 1', 'items 2', 'items 4', 'items 5', 'items 6',
		'readings north/1', 'readings south/2', 'readings south/3',
		'readings south/4', 'readings_south south/2',
		'readings_south south/3', 'readings_south south/4'),
	'source: the rows of both tables and of the reordered partition');
is(scalar(grep { !/^"[0-9a-f]{32}"$/ } values %src_tag),
	0, 'source: every tag is 32 hexadecimal digits in double quotes');
my %distinct;
$distinct{ $src_tag{$_} }++ for grep { !/^readings_south/ } keys %src_tag;
is(scalar(keys %distinct), 9, 'source: no two rows share a tag');
is( join(' ', map { $src_tag{"readings_south south/$_"} } 2 .. 4),
	join(' ', map { $src_tag{"readings south/$_"} } 2 .. 4),
	'source: a row read through its partition has the tag read through the parent'
);
is( $primary->safe_psql(
		'src', q{
SELECT pg_relation_size(reltoastrelid) > 0 FROM pg_class WHERE oid = 'items'::regclass;
}),
	't', 'source: a value is stored out of line');
is($primary->safe_psql('src', $tables_query),
	"items|hash|(null)|lax|{synced_at}\nreadings|hash|(null)|lax|{synced_at}",
	'source: occ.tables shows kind hash and the excluded column');
note 'stored bits of the computed NaN: '
  . $primary->safe_psql('src',
	'SELECT float8send(ratio) FROM items WHERE id = 4');

# A write on $db of $node in a transaction that states $tag through
# occ.if_match (none if $tag is undef).  Returns the SQLSTATE of $stmt,
# then what it printed.
sub stated_write
{
	my ($node, $db, $tag, $stmt) = @_;
	my $script = "BEGIN;\n";
	$script .= "SET LOCAL occ.if_match = '$tag';\n" if defined $tag;
	$script .= "$stmt;\n\\echo :SQLSTATE\nCOMMIT;\n";
	my ($ret, $out, $err) = $node->psql($db, $script, on_error_stop => 0);
	my @lines = split /\n/, $out;
	my $state = pop(@lines) // '(no output)';
	return join(' ', $state, @lines);
}

# The OIDs of the user-defined types and of the table regclass values
# point at, one line each.
my $oids_query = q{
SELECT t, t::regtype::oid
  FROM unnest(ARRAY['mood', 'mood[]', 'address', 'positive_int', 'floatrange'])
       AS t
UNION ALL SELECT 'ref.codes', 'ref.codes'::regclass::oid
ORDER BY 1;
};

# Whether $one and $other have as many lines and no line of one equals
# the same line of the other.
sub all_differ
{
	my ($one, $other) = @_;
	my @one = split /\n/, $one;
	my @other = split /\n/, $other;
	return 0 unless @one == @other;
	for my $i (0 .. $#one)
	{
		return 0 if $one[$i] eq $other[$i];
	}
	return 1;
}
my $src_oids = $primary->safe_psql('src', $oids_query);

# ==== (b) the streaming standby ====

$primary->wait_for_catchup($standby);
is($standby->safe_psql('src', $tags_query),
	$src_tags, 'standby: every row has the primary\'s tag');
is($standby->safe_psql('src', $tables_query),
	$primary->safe_psql('src', $tables_query),
	'standby: occ.tables equals the primary\'s');

# ==== (c) the logical subscriber ====

$primary->wait_for_catchup('hash_sub');
is($subscriber->safe_psql('app', $text_query),
	$primary->safe_psql('src', $text_query),
	'subscriber: every row has the primary\'s content');
ok(all_differ($subscriber->safe_psql('app', $oids_query), $src_oids),
	'subscriber: every user-defined type and ref.codes has another OID');
is($subscriber->safe_psql('app', $tags_query),
	$src_tags, 'subscriber: every row has the primary\'s tag');
is($subscriber->safe_psql('app', $tables_query),
	"items|hash|(null)|lax|{synced_at}\nreadings|hash|(null)|lax|{synced_at}",
	'subscriber: occ.tables shows kind hash and the excluded column');
unlike(slurp_file($subscriber->logfile),
	qr/ERROR:/, 'subscriber: no error in its log');

# ==== (d) other session settings ====

# A monetary locale other than the server's, if the machine has one.
my $server_monetary = $primary->safe_psql('src', 'SHOW lc_monetary');
my $other_monetary;
for my $locale ('en_US.UTF-8', 'de_DE.UTF-8', 'fr_FR.UTF-8', 'POSIX', 'C',
	'C.UTF-8')
{
	next if lc($locale =~ s/-//gr) eq lc($server_monetary =~ s/-//gr);
	my ($ret) = $primary->psql('src', "SET lc_monetary = '$locale'");
	if ($ret == 0)
	{
		$other_monetary = $locale;
		last;
	}
}
die 'no monetary locale to test with' unless defined $other_monetary;
note "lc_monetary: server $server_monetary, session $other_monetary";

# Each setting, and whether it changes the rows' text form (so that a hash
# of the text would change).  extra_float_digits = 3 prints what the
# default prints (the shortest exact form) from PostgreSQL 12 on;
# lc_monetary changes the money values' text only where the machine has a
# locale with a currency symbol.
my @sessions = (
	[
		'TimeZone and DateStyle',
		q{SET TimeZone = 'Pacific/Chatham'; SET DateStyle = 'SQL, DMY';}, 1
	],
	[ 'extra_float_digits = -15', 'SET extra_float_digits = -15;', 1 ],
	[ 'extra_float_digits = 3',   'SET extra_float_digits = 3;',   0 ],
	[ 'search_path', 'SET search_path = ref, pg_catalog;', 1 ],
	[ 'lc_monetary', "SET lc_monetary = '$other_monetary';", 0 ],
	[ 'quote_all_identifiers', 'SET quote_all_identifiers = on;', 1 ],
	[
		'all of them',
		qq{SET TimeZone = 'Pacific/Chatham'; SET DateStyle = 'SQL, DMY';
		   SET extra_float_digits = -15; SET search_path = ref, pg_catalog;
		   SET lc_monetary = '$other_monetary'; SET quote_all_identifiers = on;
		   SET IntervalStyle = 'sql_standard'; SET bytea_output = 'escape';},
		1
	]);
my $src_text = $primary->safe_psql('src', $text_query);
for my $session (@sessions)
{
	my ($name, $settings, $changes_text) = @$session;

	is($primary->safe_psql('src', "$settings\n$tags_query"),
		$src_tags, "session with $name: every row has the same tag");
	isnt($primary->safe_psql('src', "$settings\n$text_query"),
		$src_text, "session with $name: the rows' text form differs")
	  if $changes_text;
}

# Settings changed in a session after it has hashed rows of the tables.
my ($before, $after) = split /\n====\n/,
  $primary->safe_psql('src',
	"$tags_query\n\\echo ====\n" . $sessions[-1][1] . "\n$tags_query");
is($before . '|' . $after,
	$src_tags . '|' . $src_tags,
	'settings changed in the middle of a session: the same tags');

# ==== (a) pg_dump and pg_restore into a fresh database ====

# The restored copy compresses with lz4 where the server can.
my $has_lz4 = $primary->safe_psql('postgres',
	q{SELECT count(*) FROM pg_settings
       WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)})
  eq '1';
$primary->safe_psql('postgres', 'CREATE DATABASE restored');
$primary->safe_psql('postgres',
	q{ALTER DATABASE restored SET default_toast_compression = 'lz4'})
  if $has_lz4;

my $tmp = PostgreSQL::Test::Utils::tempdir;
$primary->command_ok(
	[ 'pg_dump', '-Fc', '-f', "$tmp/src.dump", '-d', $primary->connstr('src') ],
	'pg_dump -Fc of the source database');
$primary->command_ok(
	[
		'pg_restore', '--exit-on-error',
		'-d', $primary->connstr('restored'), "$tmp/src.dump"
	],
	'pg_restore into a fresh database');

ok(all_differ($primary->safe_psql('restored', $oids_query), $src_oids),
	'restored: every user-defined type and ref.codes has another OID');
my $attnums_query = q{
SELECT attname, attnum FROM pg_attribute
 WHERE attrelid = 'items'::regclass AND attname IN ('tone', 'synced_at')
 ORDER BY 1;
};
ok( all_differ(
		$primary->safe_psql('restored', $attnums_query),
		$primary->safe_psql('src', $attnums_query)),
	'restored: the columns after the dropped one have other numbers');
is($primary->safe_psql('restored', $text_query),
	$src_text, 'restored: every row has the source\'s content');
is( $primary->safe_psql(
		'restored', q{
SELECT pg_relation_size(reltoastrelid) > 0 FROM pg_class WHERE oid = 'items'::regclass;
}),
	't', 'restored: a value is stored out of line');

# The source's array kept a null bitmap (8 bytes with its alignment) that
# the restored one, built by the array input function, has not.
my $labels_size =
  'SELECT pg_column_size(labels) FROM items WHERE id = 4';
is( $primary->safe_psql('src', $labels_size) -
	  $primary->safe_psql('restored', $labels_size),
	8,
	'restored: the array with a needless null bitmap in the source has none');
SKIP:
{
	skip 'no lz4 compression in this server', 1 unless $has_lz4;
	is( $primary->safe_psql(
			'src', 'SELECT pg_column_compression(body) FROM items WHERE id = 2')
		  . ' '
		  . $primary->safe_psql(
			'restored',
			'SELECT pg_column_compression(body) FROM items WHERE id = 2'),
		'pglz lz4',
		'restored: a compressed value is compressed with another method');
}

is($primary->safe_psql('restored', $tags_query),
	$src_tags, 'restored: every row has the source\'s tag');
is($primary->safe_psql('restored', $tables_query),
	$primary->safe_psql('src', $tables_query),
	'restored: occ.tables shows kind hash and the excluded column');

# Writes stating tags read in the source before the dump.
is( stated_write(
		$primary, 'restored', $src_tag{'items 1'},
		'UPDATE items SET price = 1 WHERE id = 1 RETURNING price'),
	'00000 1.000',
	'restored: an update stating the tag read before the dump succeeds');
is( stated_write(
		$primary, 'restored', $src_tag{'items 1'},
		'UPDATE items SET price = 2 WHERE id = 1 RETURNING price'),
	'40V01',
	'restored: the same tag, now stale, fails with 40V01');
is( stated_write(
		$primary, 'restored', $src_tag{'items 4'},
		'DELETE FROM items WHERE id = 5 RETURNING id'),
	'40V01',
	'restored: a delete stating another row\'s tag fails with 40V01');
is( stated_write(
		$primary, 'restored', $src_tag{'items 5'},
		'DELETE FROM items WHERE id = 5 RETURNING id'),
	'00000 5',
	'restored: a delete stating the tag read before the dump succeeds');

# A write of the excluded column only leaves the tag as it was.
is( stated_write(
		$primary, 'restored', undef,
		q{UPDATE items SET synced_at = '2025-01-01 00:00:00+00' WHERE id = 4
		  RETURNING occ.etag(items)}),
	"00000 $src_tag{'items 4'}",
	'restored: a write of the excluded column keeps the tag');
is( stated_write(
		$primary, 'restored', $src_tag{'items 4'},
		'UPDATE items SET qty = 9 WHERE id = 4 RETURNING qty'),
	'00000 9',
	'restored: ... so the tag read before the dump is still current');

# The partitioned table, through occ.update().
my $south3 =
  q{SELECT occ.update('readings', '{"region": "south", "id": 3}', '%s',
                      '{"val": 9.99}') ->> 'val'};
is( stated_write(
		$primary, 'restored', undef,
		sprintf($south3, $src_tag{'readings south/3'})),
	'00000 9.99',
	'restored: occ.update() of a partitioned table with the tag read before the dump succeeds'
);
is( stated_write(
		$primary, 'restored', undef,
		sprintf($south3, $src_tag{'readings south/3'})),
	'40V01',
	'restored: occ.update() with the same tag, now stale, fails with 40V01');

# ==== (c) local writes on the subscriber ====

is( stated_write(
		$subscriber, 'app', $src_tag{'items 2'},
		'UPDATE items SET qty = 5 WHERE id = 2 RETURNING qty'),
	'00000 5',
	'subscriber: a local update stating the primary\'s tag succeeds');
is( stated_write(
		$subscriber, 'app', $src_tag{'items 2'},
		'UPDATE items SET qty = 6 WHERE id = 2 RETURNING qty'),
	'40V01',
	'subscriber: the same tag, now stale, fails with 40V01');

$subscriber->stop;
$standby->stop;
$primary->stop;

done_testing();
