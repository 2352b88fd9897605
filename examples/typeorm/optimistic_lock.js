// examples/typeorm/optimistic_lock.js -- occ under TypeORM 0.3's version column.
//
// An Account entity (EntitySchema, plain JavaScript) with a `version: true`
// column and an `updateDate` column.  TypeORM's save() first reads the row,
// then, if the entity still carries the version it read, sends
//     UPDATE ... SET ..., "version" = "version" + 1, "updatedAt" = CURRENT_TIMESTAMP
//     WHERE "id" IN ($n)
// with no version in the WHERE clause: TypeORM checks versions only when
// asked to at read time (findOne({ lock: { mode: 'optimistic', version } })).
// When the entity is stale, save() writes its old "version" and "updatedAt"
// back, which occ refuses with 40V01; remove() sends a bare DELETE.  occ
// adopts "version", and a few lines of the application turn it into
// TypeORM's own optimistic locking.  Run in lax and in strict mode:
//   a. save() of a current entity works; the version advances exactly once;
//   b. save() of a stale entity is refused by occ; the application's
//      wrapper throws TypeORM's OptimisticLockVersionMismatchError;
//   c. raw SQL: refused without a version in strict, refused when stale;
//   d. remove() of a current entity works, also in strict: a subscriber sets
//      occ.if_match from the entity's version in remove()'s transaction; a
//      stale remove() throws OptimisticLockVersionMismatchError;
//   e. a client's ETag checked by TypeORM's read-time optimistic lock; the
//      one write occ cannot see in save(): another client committing between
//      save()'s own read and its UPDATE ("version" = "version" + 1 states
//      the current version); and update() with the version in its WHERE
//      clause, which closes that gap.
// Then a Note entity without a version column, whose "updatedAt" occ
// protects as a timestamp version (lax): the CURRENT_TIMESTAMP TypeORM
// assigns is a proposal and the row keeps it; a stale save() is refused.
//
// Connects with the usual environment (PGHOST, PGPORT, PGUSER, PGDATABASE,
// PGPASSWORD).  Creates its own tables, drops them at the end, and exits
// non-zero if anything does not happen as told.
//
//   npm install --no-audit --no-fund && node optimistic_lock.js

'use strict';

require('reflect-metadata');
const os = require('os');
const {
  DataSource, EntitySchema, EventSubscriber, QueryFailedError, OptimisticLockVersionMismatchError,
} = require('typeorm');

const ACCOUNTS = `occ_example_typeorm_${process.pid}`;
const NOTES = `occ_example_typeorm_notes_${process.pid}`;
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

// The SQLSTATE of a TypeORM error (QueryFailedError keeps node-postgres's).
function sqlstate(err) {
  return err && err.driverError ? err.driverError.code : null;
}

// The statements TypeORM sends, kept so the program can show them.
let sent = [];
function showSent(match) {
  for (const s of sent.filter((x) => match.test(x))) say(`    sent: ${s}`);
  sent = [];
}
const logger = {
  logQuery: (query, parameters) => sent.push(
    parameters && parameters.length ? `${query} -- ${JSON.stringify(parameters)}` : query),
  logQueryError() {},
  logQuerySlow() {},
  logSchemaBuild() {},
  logMigration() {},
  log() {},
};

const Account = new EntitySchema({
  name: 'Account',
  tableName: ACCOUNTS,
  columns: {
    id: { type: 'int', primary: true },
    owner: { type: 'text' },
    balance: { type: 'int' },
    version: { type: 'int', version: true },
    updatedAt: { type: 'timestamptz', updateDate: true },
  },
});

const Note = new EntitySchema({
  name: 'Note',
  tableName: NOTES,
  columns: {
    id: { type: 'int', primary: true },
    body: { type: 'text' },
    updatedAt: { type: 'timestamptz', updateDate: true },
  },
});

// --- The application's own lines (shown in examples/README.md) -------------

// remove() sends DELETE ... WHERE "id" = $1: state the version the entity
// was read with through occ.if_match, in remove()'s own transaction.
class StateVersionOnRemove {
  async beforeRemove(event) {
    const column = event.metadata.versionColumn;
    if (!column || !event.entity) return;
    await event.queryRunner.query("SELECT set_config('occ.if_match', $1, true)",
      [String(column.getEntityValue(event.entity))]);
  }
}
EventSubscriber()(StateVersionOnRemove); // @EventSubscriber() without a compiler

// save() or remove() an entity; occ's 40V01 becomes TypeORM's own error.
async function checked(promise, entity) {
  try {
    return await promise;
  } catch (err) {
    if (err instanceof QueryFailedError && err.driverError.code === '40V01') {
      throw new OptimisticLockVersionMismatchError(err.driverError.table, entity.version, 'newer');
    }
    throw err;
  }
}

// Or update without save(): the WHERE clause states the version read (occ
// accepts that in strict mode too), and no row written means stale.
async function updateChecked(repo, entity, changes) {
  const { id, version } = entity;
  const { affected } = await repo.update({ id, version }, changes);
  if (affected === 0) throw new OptimisticLockVersionMismatchError(repo.metadata.tableName, version, 'newer');
}

// ---------------------------------------------------------------------------

// For part e only: run a callback between save()'s own read and its UPDATE.
let betweenReadAndUpdate = null;
class Interleave {
  async beforeUpdate() {
    if (betweenReadAndUpdate) await betweenReadAndUpdate();
  }
}
EventSubscriber()(Interleave);

const ds = new DataSource({
  type: 'postgres',
  host: process.env.PGHOST || 'localhost', // a directory is a unix socket
  port: Number(process.env.PGPORT || 5432),
  username: process.env.PGUSER || os.userInfo().username,
  password: process.env.PGPASSWORD,
  database: process.env.PGDATABASE || process.env.PGUSER || os.userInfo().username,
  entities: [Account, Note],
  subscribers: [StateVersionOnRemove, Interleave],
  logging: ['query'],
  logger,
});

async function row() {
  const rows = await ds.query(`SELECT balance, version FROM "${ACCOUNTS}" WHERE id = 1`);
  return rows[0] || null;
}

async function accounts(mode) {
  const repo = ds.getRepository(Account);
  say(`== Account (version: true, updateDate), occ on "version", mode ${mode}`);
  await ds.query(`SELECT occ.set_mode('"${ACCOUNTS}"', '${mode}')`);
  await ds.query(`TRUNCATE "${ACCOUNTS}"`);
  await repo.insert({ id: 1, owner: 'Alice and Bob', balance: 100 });
  sent = [];

  say('-- a. save() of a current entity');
  const acct = await repo.findOneBy({ id: 1 });
  acct.balance += 50;
  await checked(repo.save(acct), acct);
  showSent(/^UPDATE/);
  check('the entity and the row have version 2 (advanced once)',
    [acct.version, await row()], [2, { balance: 150, version: 2 }]);

  say('-- b. two requests load version 2; one saves, then the other');
  const mine = await repo.findOneBy({ id: 1 });
  const theirs = await repo.findOneBy({ id: 1 });
  theirs.balance -= 30;
  await checked(repo.save(theirs), theirs);
  mine.balance += 10;
  sent = [];
  let err = await rejection(repo.save(mine));
  showSent(/^UPDATE/);
  check('TypeORM writes the stale entity\'s version back; occ refuses it', sqlstate(err), '40V01');
  err = await rejection(checked(repo.save(mine), mine));
  check('through checked(), the stale save() throws TypeORM\'s own error',
    err && err.constructor.name, 'OptimisticLockVersionMismatchError');
  say(`    ${err && err.message}`);
  check('the row keeps the first save', await row(), { balance: 120, version: 3 });

  say('-- c. raw SQL that bypasses TypeORM');
  err = await rejection(ds.query(`UPDATE "${ACCOUNTS}" SET balance = balance + 1 WHERE id = 1`));
  if (mode === 'strict') {
    check('an UPDATE that states no version is refused', sqlstate(err), '23V01');
    check('the row is unchanged', await row(), { balance: 120, version: 3 });
  } else {
    check('an UPDATE that states no version is allowed in lax', err, null);
    check('and occ advanced the version', await row(), { balance: 121, version: 4 });
    await ds.query(`UPDATE "${ACCOUNTS}" SET balance = 120, version = 4 WHERE id = 1`);
  }
  const v = (await row()).version;
  err = await rejection(ds.query(
    `UPDATE "${ACCOUNTS}" SET balance = 0, version = $1 WHERE id = 1`, [v - 1]));
  check(`an UPDATE that states the stale version ${v - 1} is refused`, sqlstate(err), '40V01');
  check('the row is unchanged', (await row()).balance, 120);

  say('-- e. the client\'s ETag, checked by TypeORM\'s read-time optimistic lock');
  const etag = v;
  await ds.query(`UPDATE "${ACCOUNTS}" SET balance = 130, version = $1 WHERE id = 1`, [v]);
  err = await rejection(repo.findOne({ where: { id: 1 }, lock: { mode: 'optimistic', version: etag } }));
  check(`findOne() with lock { mode: 'optimistic', version: ${etag} } after another write throws`,
    err && err.constructor.name, 'OptimisticLockVersionMismatchError');
  say('-- e. a write between save()\'s own read and its UPDATE is not seen');
  const late = await repo.findOneBy({ id: 1 });
  late.balance = 0;
  betweenReadAndUpdate = () => ds.query(
    `UPDATE "${ACCOUNTS}" SET balance = 999, version = $1 WHERE id = 1`, [v + 1]);
  sent = [];
  err = await rejection(checked(repo.save(late), late));
  betweenReadAndUpdate = null;
  showSent(/^(UPDATE|SELECT "Account")/);
  check('"version" = "version" + 1 states the current version: the other write is lost',
    [err, await row()], [null, { balance: 0, version: v + 3 }]);
  say('-- e. what closes that gap: update() with the version in its WHERE clause');
  const later = await repo.findOneBy({ id: 1 });
  await ds.query(`UPDATE "${ACCOUNTS}" SET balance = 999, version = $1 WHERE id = 1`, [v + 3]);
  sent = [];
  err = await rejection(updateChecked(repo, later, { balance: 5 }));
  showSent(/^UPDATE/);
  check('updateChecked() of the entity read before that write throws',
    err && err.constructor.name, 'OptimisticLockVersionMismatchError');
  check('the row keeps the other write', await row(), { balance: 999, version: v + 4 });
  const current = await repo.findOneBy({ id: 1 });
  err = await rejection(updateChecked(repo, current, { balance: 0 }));
  check(`updateChecked() of a current entity works in ${mode}`,
    [err, await row()], [null, { balance: 0, version: v + 5 }]);

  say('-- d. remove()');
  const stale = await repo.findOneBy({ id: 1 });
  await ds.query(`UPDATE "${ACCOUNTS}" SET balance = 220, version = $1 WHERE id = 1`, [v + 5]);
  const doomed = await repo.findOneBy({ id: 1 });
  sent = [];
  err = await rejection(checked(repo.remove(stale), stale));
  showSent(/^(DELETE|SELECT set_config)/);
  check('remove() of a stale entity throws TypeORM\'s own error',
    err && err.constructor.name, 'OptimisticLockVersionMismatchError');
  check('the row is still there', await row(), { balance: 220, version: v + 6 });
  if (mode === 'strict') {
    err = await rejection(ds.query(`DELETE FROM "${ACCOUNTS}" WHERE id = 1`));
    check('a raw DELETE that states no version is refused', sqlstate(err), '23V01');
  }
  err = await rejection(checked(repo.remove(doomed), doomed));
  check(`remove() of the current entity works in ${mode}`, [sqlstate(err), await row()], [null, null]);
  say();
}

async function notes() {
  const repo = ds.getRepository(Note);
  say('== Note (updateDate, no version), occ on "updatedAt" as a timestamp version, lax');
  await repo.insert({ id: 1, body: 'first' });
  const updatedAt = async () => (await ds.query(
    `SELECT "updatedAt"::text AS t FROM "${NOTES}" WHERE id = 1`))[0].t;

  const note = await repo.findOneBy({ id: 1 });
  const stale = await repo.findOneBy({ id: 1 });
  note.body = 'second';
  // TypeORM reads times into a JS Date, which has milliseconds: let one pass,
  // so that the stale note's time differs from the next one as TypeORM sees them.
  await new Promise((resolve) => setTimeout(resolve, 2));
  sent = [];
  // save() inside a transaction whose start time is known: its
  // CURRENT_TIMESTAMP is what TypeORM assigns to "updatedAt".
  let started = null;
  let err = await rejection(ds.transaction(async (manager) => {
    started = (await manager.query('SELECT now()::text AS t'))[0].t;
    await manager.save(Note, note);
  }));
  showSent(/^UPDATE/);
  check('save() is allowed; the row keeps CURRENT_TIMESTAMP, the proposal TypeORM sent',
    [sqlstate(err), await updatedAt()], [null, started]);

  stale.body = 'stale';
  sent = [];
  err = await rejection(repo.save(stale));
  showSent(/^UPDATE/);
  check('save() of a stale note writes back the "updatedAt" it read: refused', sqlstate(err), '40V01');
  err = await rejection(ds.query(`UPDATE "${NOTES}" SET body = 'raw' WHERE id = 1`));
  const later = (await ds.query(`SELECT "updatedAt" > $1 AS x FROM "${NOTES}"`, [started]))[0].x;
  check('a raw UPDATE that states nothing is allowed in lax and advances updatedAt',
    [err, later], [null, true]);

  await ds.query(`SELECT occ.set_mode('"${NOTES}"', 'strict')`);
  const fresh = await repo.findOneBy({ id: 1 });
  fresh.body = 'fourth';
  check('in strict mode save() states nothing (CURRENT_TIMESTAMP is a proposal): refused',
    sqlstate(await rejection(repo.save(fresh))), '23V01');
  say();
}

async function main() {
  await ds.initialize();
  try {
    say('== Setting the scene');
    await ds.query('CREATE EXTENSION IF NOT EXISTS occ');
    await ds.query(`CREATE TABLE "${ACCOUNTS}" (id int PRIMARY KEY, owner text, balance int,
      version int NOT NULL DEFAULT 1, "updatedAt" timestamptz NOT NULL DEFAULT now())`);
    await ds.query(`CREATE TABLE "${NOTES}" (id int PRIMARY KEY, body text,
      "updatedAt" timestamptz NOT NULL DEFAULT now())`);
    await ds.query(`SELECT occ.enable('"${ACCOUNTS}"', 'version')`);
    await ds.query(`SELECT occ.enable('"${NOTES}"', 'updatedAt', 'timestamp')`);
    say(`Tables ${ACCOUNTS} and ${NOTES}; occ.enable adopted "version" and "updatedAt".`);
    say();
    for (const mode of ['lax', 'strict']) await accounts(mode);
    await notes();
  } finally {
    await ds.query(`DROP TABLE IF EXISTS "${ACCOUNTS}", "${NOTES}"`);
    await ds.destroy();
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
