// examples/sequelize/optimistic_lock.js -- occ under Sequelize 6's optimistic locking.
//
// An Account model with `version: true`: Sequelize saves with
//     UPDATE ... SET ..., "version" = read + 1 WHERE "id" = ? AND "version" = read
// and throws OptimisticLockError when that updates no row.  occ.enable adopts
// the same column, so writers that bypass Sequelize are held to the same rule:
// in strict mode a raw UPDATE that states no version is refused (23V01), and
// in every mode one that states a stale version is refused (40V01).  Run in
// lax and in strict mode:
//   a. save() of a current row works; the version advances exactly once;
//   b. save() of a stale row throws Sequelize's OptimisticLockError;
//   c. raw SQL: refused without a version in strict, refused when stale;
//   d. destroy() of a current row works, also in strict; a stale one is
//      turned into OptimisticLockError by checking its row count;
//   e. a bulk Model.update() (which Sequelize does not version) states the
//      ETag the application kept through occ.if_match; occ's 40V01 becomes
//      OptimisticLockError in a few lines of the application's code.
// Then a Note model without a version column, whose "updatedAt" occ protects
// as a timestamp version in lax mode: the time Sequelize assigns is a
// proposal, and the row keeps it.
//
// Connects with the usual environment (PGHOST, PGPORT, PGUSER, PGDATABASE,
// PGPASSWORD).  Creates its own tables, drops them at the end, and exits
// non-zero if anything does not happen as told.
//
//   npm install --no-audit --no-fund && node optimistic_lock.js

'use strict';

const os = require('os');
const { Sequelize, DataTypes, OptimisticLockError, QueryTypes } = require('sequelize');

const ACCOUNTS = `occ_example_sequelize_${process.pid}`;
const NOTES = `occ_example_sequelize_notes_${process.pid}`;
const failures = [];

function say(text = '') {
  console.log(text);
}

// Record a failure when got differs from expected; say what was seen.
function check(what, got, expected) {
  const g = JSON.stringify(got);
  const e = JSON.stringify(expected);
  if (g === e) {
    say(`    [ok] ${what}: ${g}`);
    return true;
  }
  say(`    [FAILED] ${what}: expected ${e}, got ${g}`);
  failures.push(what);
  return false;
}

// The error promise rejects with, or null if it resolves.
async function rejection(promise) {
  try {
    await promise;
    return null;
  } catch (err) {
    return err;
  }
}

// The SQLSTATE of a Sequelize error (it keeps node-postgres's error as .parent).
function sqlstate(err) {
  return err && err.parent ? err.parent.code : null;
}

// The statements Sequelize sends, kept so the program can show them.
let sent = [];
function showSent(match) {
  for (const s of sent.filter((x) => match.test(x))) say(`    sent: ${s}`);
  sent = [];
}

const sequelize = new Sequelize(
  process.env.PGDATABASE || process.env.PGUSER || os.userInfo().username,
  process.env.PGUSER || os.userInfo().username,
  process.env.PGPASSWORD || null,
  {
    dialect: 'postgres',
    host: process.env.PGHOST || 'localhost', // a directory is a unix socket
    port: Number(process.env.PGPORT || 5432),
    logging: (s) => sent.push(s.replace(/^Executing \([^)]*\): /, '')),
    logQueryParameters: true,
  });

const Account = sequelize.define('Account', {
  id: { type: DataTypes.INTEGER, primaryKey: true },
  owner: DataTypes.TEXT,
  balance: DataTypes.INTEGER,
}, { tableName: ACCOUNTS, version: true }); // and timestamps: createdAt, updatedAt

const Note = sequelize.define('Note', {
  id: { type: DataTypes.INTEGER, primaryKey: true },
  body: DataTypes.TEXT,
}, { tableName: NOTES }); // timestamps: createdAt, updatedAt; no version

// --- The application's own lines (shown in examples/README.md) -------------

// Sequelize's instance.destroy() puts the version in its WHERE clause but
// never looks at the row count: a stale destroy deletes nothing, silently.
async function destroyChecked(instance, options = {}) {
  const where = instance.where(true); // the key and the version read
  const n = await instance.constructor.destroy({ ...options, where });
  if (n === 0) throw new OptimisticLockError({ modelName: instance.constructor.name, where });
}

// A bulk Model.update() sends no version: state the ETag the client sent
// (If-Match) through occ.if_match, and give occ's 40V01 Sequelize's own error.
async function updateIfMatch(model, etag, values, where) {
  try {
    return await sequelize.transaction(async (transaction) => {
      await sequelize.query("SELECT set_config('occ.if_match', $1, true)",
        { bind: [etag], transaction });
      return await model.update(values, { where, transaction });
    });
  } catch (err) {
    if (err.parent && err.parent.code === '40V01') {
      throw new OptimisticLockError({ modelName: model.name, values, where });
    }
    throw err;
  }
}

// ---------------------------------------------------------------------------

async function raw(text, bind = []) {
  return sequelize.query(text, { bind, type: QueryTypes.RAW });
}

async function row() {
  const rows = await sequelize.query(
    `SELECT balance, version FROM "${ACCOUNTS}" WHERE id = 1`, { type: QueryTypes.SELECT });
  return rows[0] || null;
}

async function accounts(mode) {
  say(`== Account (version: true), occ on "version", mode ${mode}`);
  await raw(`SELECT occ.set_mode('"${ACCOUNTS}"', '${mode}')`);
  await raw(`TRUNCATE "${ACCOUNTS}"`);
  await Account.create({ id: 1, owner: 'Alice and Bob', balance: 100 });
  sent = [];

  say('-- a. save() of a current row');
  const acct = await Account.findByPk(1);
  acct.balance += 50;
  await acct.save();
  showSent(/^UPDATE/);
  check('the instance and the row have version 1 (advanced once)',
    [acct.version, await row()], [1, { balance: 150, version: 1 }]);

  say('-- b. two requests load version 1; one saves, then the other');
  const mine = await Account.findByPk(1);
  const theirs = await Account.findByPk(1);
  theirs.balance -= 30;
  await theirs.save();
  mine.balance += 10;
  let err = await rejection(mine.save());
  showSent(/^UPDATE/);
  check('the stale save() throws', err && err.constructor.name, 'OptimisticLockError');
  check('the row keeps the first save', await row(), { balance: 120, version: 2 });

  say('-- c. raw SQL that bypasses Sequelize');
  err = await rejection(raw(`UPDATE "${ACCOUNTS}" SET balance = balance + 1 WHERE id = 1`));
  if (mode === 'strict') {
    check('an UPDATE that states no version is refused', sqlstate(err), '23V01');
    check('the row is unchanged', await row(), { balance: 120, version: 2 });
  } else {
    check('an UPDATE that states no version is allowed in lax', err, null);
    check('and occ advanced the version', await row(), { balance: 121, version: 3 });
    await raw(`UPDATE "${ACCOUNTS}" SET balance = 120, version = 3 WHERE id = 1`);
  }
  const v = (await row()).version;
  err = await rejection(raw(`UPDATE "${ACCOUNTS}" SET balance = 0, version = $1 WHERE id = 1`, [v - 1]));
  check(`an UPDATE that states the stale version ${v - 1} is refused`, sqlstate(err), '40V01');
  err = await rejection(raw(`UPDATE "${ACCOUNTS}" SET balance = 0 WHERE id = 1 AND version = $1`, [v - 1]));
  check('an UPDATE ... WHERE version = <stale> writes no row', err, null);
  check('the row is unchanged', (await row()).balance, 120);

  say('-- opting out: increment() sends "version" = "version" + 1');
  const inc = await Account.findByPk(1);
  await raw(`UPDATE "${ACCOUNTS}" SET balance = balance, version = $1 WHERE id = 1`, [v]);
  sent = [];
  err = await rejection(inc.increment('balance', { by: 5 }));
  showSent(/^UPDATE/);
  check('increment() of an instance that is one write behind is accepted, also in strict: '
    + 'version + 1 states the current version', [err, await row()], [null, { balance: 125, version: v + 2 }]);

  say('-- e. a bulk Model.update() states the ETag the client kept');
  const etag = `"${(await row()).version}"`;
  say(`    the client read the account with ETag ${etag}; it sends If-Match: ${etag}`);
  sent = [];
  await updateIfMatch(Account, etag, { balance: 200 }, { id: 1 });
  showSent(/^(SELECT set_config|UPDATE)/);
  check('the update with the current ETag is written, and occ advanced the version',
    await row(), { balance: 200, version: v + 3 });
  say(`    another client writes; then this one sends If-Match: ${etag} again`);
  await raw(`UPDATE "${ACCOUNTS}" SET balance = 210, version = $1 WHERE id = 1`, [v + 3]);
  err = await rejection(updateIfMatch(Account, etag, { balance: 0 }, { id: 1 }));
  check('the stale update throws Sequelize\'s own error', err && err.constructor.name, 'OptimisticLockError');
  check('the row keeps the other client\'s write', await row(), { balance: 210, version: v + 4 });
  if (mode === 'strict') {
    err = await rejection(Account.update({ balance: 0 }, { where: { id: 1 } }));
    check('without If-Match a bulk update states nothing: refused in strict', sqlstate(err), '23V01');
  }

  say('-- d. destroy()');
  const stale = await Account.findByPk(1);
  await raw(`UPDATE "${ACCOUNTS}" SET balance = 220, version = $1 WHERE id = 1`, [v + 4]);
  const doomed = await Account.findByPk(1);
  sent = [];
  err = await rejection(stale.destroy());
  showSent(/^DELETE/);
  check('Sequelize\'s own destroy() of a stale row resolves and deletes nothing',
    [err, (await row()).version], [null, v + 5]);
  err = await rejection(destroyChecked(stale));
  check('destroyChecked() of a stale row throws', err && err.constructor.name, 'OptimisticLockError');
  sent = [];
  if (mode === 'strict') {
    err = await rejection(raw(`DELETE FROM "${ACCOUNTS}" WHERE id = 1`));
    check('a raw DELETE that states no version is refused', sqlstate(err), '23V01');
  }
  err = await rejection(doomed.destroy());
  showSent(/^DELETE/);
  check(`destroy() of the current row works in ${mode}`, [sqlstate(err), await row()], [null, null]);
  say();
}

async function notes() {
  say('== Note (timestamps, no version), occ on "updatedAt" as a timestamp version, lax');
  await Note.create({ id: 1, body: 'first' });
  // "updatedAt" as the server prints it (microseconds; a JS Date has milliseconds).
  const updatedAt = async () => (await sequelize.query(
    `SELECT "updatedAt"::text AS t FROM "${NOTES}" WHERE id = 1`, { type: QueryTypes.SELECT }))[0].t;
  const holds = async (a, op, b) => (await sequelize.query(
    `SELECT $1::timestamptz ${op} $2::timestamptz AS x`, { bind: [a, b], type: QueryTypes.SELECT }))[0].x;
  // Sequelize's times have milliseconds: let one pass between two writes,
  // so each time Sequelize proposes is later than the row's.
  const nextMillisecond = () => new Promise((resolve) => setTimeout(resolve, 2));

  const note = await Note.findByPk(1);
  const before = note.updatedAt;
  note.body = 'second';
  await nextMillisecond();
  sent = [];
  let err = await rejection(note.save());
  showSent(/^UPDATE/);
  const proposed = note.updatedAt; // the time Sequelize assigned and sent
  check('save() is allowed; the row keeps the time Sequelize proposed',
    [sqlstate(err), await holds(proposed, '>', before), await holds(await updatedAt(), '=', proposed)],
    [null, true, true]);

  err = await rejection(raw(
    `UPDATE "${NOTES}" SET body = 'raw', "updatedAt" = $1 WHERE id = 1`, [before.toISOString()]));
  check('a raw UPDATE that states the updatedAt read before that save is refused',
    sqlstate(err), '40V01');
  err = await rejection(raw(`UPDATE "${NOTES}" SET body = 'raw' WHERE id = 1`));
  check('a raw UPDATE that states nothing is allowed in lax and advances updatedAt',
    [err, await holds(await updatedAt(), '>', proposed)], [null, true]);

  // A save() in the same millisecond as a write occ stamped (with its
  // microseconds) would propose an earlier time: stale, 40V01.
  await nextMillisecond();
  note.body = 'third';
  err = await rejection(note.save());
  check('a later save() proposes a later time, which the row keeps',
    [sqlstate(err), await holds(await updatedAt(), '=', note.updatedAt)], [null, true]);

  // save({ silent: true }) sends no "updatedAt" and leaves it to occ.
  const saved = await updatedAt();
  note.body = 'silent';
  sent = [];
  err = await rejection(note.save({ silent: true }));
  showSent(/^UPDATE/);
  check('save({ silent: true }) leaves "updatedAt" to occ, which advances it',
    [sqlstate(err), await holds(await updatedAt(), '>', saved)], [null, true]);

  await raw(`SELECT occ.set_mode('"${NOTES}"', 'strict')`);
  note.body = 'fourth';
  check('in strict mode that save() states nothing (its time is a proposal): refused',
    sqlstate(await rejection(note.save())), '23V01');
  say();
}

async function main() {
  try {
    say('== Setting the scene');
    await raw('CREATE EXTENSION IF NOT EXISTS occ');
    await Account.sync({ force: true });
    await Note.sync({ force: true });
    await raw(`SELECT occ.enable('"${ACCOUNTS}"', 'version')`);
    await raw(`SELECT occ.enable('"${NOTES}"', 'updatedAt', 'timestamp')`);
    say(`Sequelize created ${ACCOUNTS} ("version" integer) and ${NOTES};`);
    say('occ.enable adopted "version" and "updatedAt".');
    say();
    for (const mode of ['lax', 'strict']) await accounts(mode);
    await notes();
  } finally {
    await raw(`DROP TABLE IF EXISTS "${ACCOUNTS}", "${NOTES}"`);
    await sequelize.close();
  }
  if (failures.length) {
    say(`FAILED: ${failures.length} check(s) did not hold: ${failures.join(', ')}`);
    return 1;
  }
  say('All checks held.');
  return 0;
}

main().then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(err); process.exitCode = 1; });
