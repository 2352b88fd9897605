// examples/node/lost_update.js -- occ catches a lost update, seen from node-postgres.
//
// Alice and Bob share a bank account, each on their own connection.  Both
// read the balance and its version; Alice writes first; Bob's write, which
// states the version he read, is refused by the server with SQLSTATE 40V01.
// Bob reads the account again and retries, and both changes are kept.  Then
// a DELETE states the version it expects through occ.if_match, set with SET
// LOCAL for one transaction.
//
// Connects with the usual environment (PGHOST, PGPORT, PGUSER, PGDATABASE,
// PGPASSWORD); node-postgres reaches a unix socket when PGHOST is a
// directory.  Creates its own table, drops it at the end, and exits
// non-zero if anything does not happen as told.
//
//   npm install --no-audit --no-fund && node lost_update.js

'use strict';

const { Client, DatabaseError } = require('pg');

const TABLE = `occ_example_node_${process.pid}`;
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

async function connect(name) {
  const client = new Client({ application_name: name });
  await client.connect();
  return client;
}

// Run fn(client) in a transaction: commit if it returns, roll back if it throws.
async function transaction(client, fn) {
  await client.query('BEGIN');
  try {
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  }
}

async function main() {
  const admin = await connect('admin');
  const alice = await connect('alice');
  const bob = await connect('bob');
  const table = admin.escapeIdentifier(TABLE);

  // node-postgres returns bigint columns as strings (they may not fit a JS
  // number); the versions here are small, so the queries cast them to int.
  async function readAccount(client, who) {
    const { rows } = await client.query(
      `SELECT balance, version::int AS version FROM ${table} WHERE id = $1`, [1]);
    if (rows.length === 0) throw new Error('account 1 is gone');
    say(`${who} reads account 1: balance ${rows[0].balance}, version ${rows[0].version}`);
    return rows[0];
  }

  // Write a balance, stating the version it was computed from; returns the
  // new version (RETURNING shows what the trigger set), or null if no row.
  function writeAccount(client, balance, version) {
    return transaction(client, async (c) => {
      const { rows } = await c.query(
        `UPDATE ${table} SET balance = $1, version = $2 WHERE id = $3 RETURNING version::int`,
        [balance, version, 1]);
      return rows.length ? rows[0].version : null;
    });
  }

  async function current() {
    const { rows } = await admin.query(`SELECT balance, version::int AS version FROM ${table}`);
    return rows;
  }

  try {
    say('== Setting the scene');
    await admin.query('CREATE EXTENSION IF NOT EXISTS occ');
    await admin.query(`DROP TABLE IF EXISTS ${table}`);
    await admin.query(`CREATE TABLE ${table} (id int PRIMARY KEY, owner text, balance int)`);
    await admin.query(`INSERT INTO ${table} VALUES (1, 'Alice and Bob', 100)`);
    await admin.query('SELECT occ.enable($1)', [TABLE]);
    const schema = (await admin.query('SELECT current_schema() AS s')).rows[0].s;
    say(`Table ${TABLE} holds account 1 with balance 100; occ.enable added`);
    say('the column "version", which starts at 1 and grows by 1 with every UPDATE.');

    say();
    say('== Both read, Alice writes first');
    const a = await readAccount(alice, 'Alice');
    const b = await readAccount(bob, 'Bob');
    check('Alice and Bob read the same version', [a.version, b.version], [1, 1]);
    say(`Alice deposits 50: she writes ${a.balance + 50}, stating version ${a.version}.`);
    const aliceVersion = await writeAccount(alice, a.balance + 50, a.version);
    check("Alice's UPDATE wrote the row; RETURNING gives its new version", aliceVersion, 2);

    say();
    say('== Bob writes with the version he read, which is now stale');
    say(`Bob withdraws 30 from the balance he read: he writes ${b.balance - 30},`);
    say(`stating version ${b.version}.`);
    let caught = null;
    try {
      await writeAccount(bob, b.balance - 30, b.version);
    } catch (err) {
      if (err.code !== '40V01') throw err;
      caught = err;
    }
    if (caught === null) {
      say("    [FAILED] Bob's stale write was accepted: Alice's deposit is lost");
      failures.push('stale write refused');
    } else {
      const err = caught;
      say('The server refuses Bob\'s write.  node-postgres rejects the query with:');
      say(`    error class:  ${err.constructor.name}`);
      say(`    err.message:  ${err.message}`);
      say(`    err.code:     ${err.code}`);
      say(`    err.severity: ${err.severity}`);
      say(`    err.schema:   ${err.schema}`);
      say(`    err.table:    ${err.table}`);
      say(`    err.column:   ${err.column}`);
      say(`    err.detail:   ${err.detail}`);
      say(`    err.hint:     ${err.hint}`);
      say('node-postgres has one error class, pg.DatabaseError, for every server');
      say('error: test err.code.');
      check('SQLSTATE', err.code, '40V01');
      check('message', err.message, `version conflict on update of relation "${TABLE}"`);
      check('schema', err.schema, schema);
      check('table', err.table, TABLE);
      check('column', err.column, 'version');
      check('detail', err.detail, 'Key (id)=(1) has version 2, but the update stated version 1.');
      check('hint says to retry', typeof err.hint === 'string' && err.hint.includes('retry'), true);
      check('error is a pg.DatabaseError', err instanceof DatabaseError, true);
    }
    check("account 1 keeps Alice's write", await current(), [{ balance: 150, version: 2 }]);

    say();
    say('== Bob re-reads and retries');
    let bobVersion = null;
    for (let attempt = 1; attempt <= 5 && bobVersion === null; attempt++) {
      const again = await readAccount(bob, 'Bob');
      say(`Bob writes ${again.balance - 30}, stating version ${again.version}`
        + ` (attempt ${attempt}).`);
      try {
        bobVersion = await writeAccount(bob, again.balance - 30, again.version);
      } catch (err) {
        if (err.code !== '40V01') throw err;
        say('Refused again; Bob reads once more.');
      }
    }
    check("Bob's retry wrote the row; its new version", bobVersion, 3);
    if (check('account 1 holds 100 + 50 - 30', await current(), [{ balance: 120, version: 3 }])) {
      say('Both changes are kept: no update was lost.');
    }

    say();
    say('== Closing the account: a DELETE that states the version via occ.if_match');
    say('A DELETE assigns no column; it states the version it expects with');
    say('SET LOCAL occ.if_match (an HTTP entity tag), inside its transaction.');

    // SET takes no bind parameters: quote the value with escapeLiteral.
    // (SELECT set_config('occ.if_match', $1, true) is the same with one.)
    function deleteIfMatch(client, etag) {
      return transaction(client, async (c) => {
        await c.query(`SET LOCAL occ.if_match = ${c.escapeLiteral(etag)}`);
        return (await c.query(`DELETE FROM ${table} WHERE id = $1`, [1])).rowCount;
      });
    }
    async function ifMatchNow(client) {
      return (await client.query("SELECT current_setting('occ.if_match') AS v")).rows[0].v;
    }

    say(`Alice, still holding version ${aliceVersion} from her own write, tries to close it:`);
    say(`    SET LOCAL occ.if_match = '"${aliceVersion}"'; DELETE ... WHERE id = 1`);
    let refused = null;
    try {
      await deleteIfMatch(alice, `"${aliceVersion}"`);
    } catch (err) {
      if (err.code !== '40V01') throw err;
      refused = err;
      say(`    refused: ${err.code} ${err.message}`);
      say(`    ${err.detail}`);
    }
    check('stale DELETE refused with SQLSTATE', refused && refused.code, '40V01');
    check('stale DELETE message', refused && refused.message,
      `version conflict on delete from relation "${TABLE}"`);
    check('occ.if_match is unset once that transaction ended', await ifMatchNow(alice), '');

    const now = await readAccount(bob, 'Bob');
    say(`Bob closes it, stating the version he just read, '"${now.version}"':`);
    check("Bob's DELETE removed one row", await deleteIfMatch(bob, `"${now.version}"`), 1);
    check('occ.if_match is unset once that transaction ended', await ifMatchNow(bob), '');
    check('rows left in the table', await current(), []);
  } finally {
    // Close Alice's and Bob's connections first: a transaction either left
    // open would hold a lock that DROP TABLE waits for.
    await Promise.all([alice.end(), bob.end()]);
    await admin.query(`DROP TABLE IF EXISTS ${table}`);
    await admin.end();
  }

  say();
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
