--
-- The wrappers' kept statements follow the table's OID, not its name
-- (issue 8, item 6).  Renaming a schema invalidates every kept plan but
-- sends no relcache invalidation for the tables in it; a plan re-parsed
-- from its old text would fail, or write another table that has taken the
-- old name.
--
\set VERBOSITY default
\set SHOW_CONTEXT never

CREATE SCHEMA wrn_old;
CREATE TABLE wrn_old.acc (id int PRIMARY KEY, balance int);
INSERT INTO wrn_old.acc VALUES (1, 10);
SELECT occ.enable('wrn_old.acc');
SELECT 'wrn_old.acc'::regclass::oid AS acc_oid \gset
-- keep plans for an update and a delete
SELECT occ.update(:acc_oid, '{"id": 1}', '1', '{"balance": 11}') ->> 'balance' AS balance;
SELECT occ.delete(:acc_oid, '{"id": 42}', '*'); \echo :LAST_ERROR_SQLSTATE

-- the schema is renamed: the same OID, written under its new name
ALTER SCHEMA wrn_old RENAME TO wrn_new;
SELECT occ.update(:acc_oid, '{"id": 1}', '2', '{"balance": 12}') ->> 'balance' AS balance;

-- a new table takes the old qualified name: the wrapper still writes the
-- table it was given
CREATE SCHEMA wrn_old;
CREATE TABLE wrn_old.acc (id int PRIMARY KEY, balance int);
INSERT INTO wrn_old.acc VALUES (1, 100);
SELECT occ.enable('wrn_old.acc');
ALTER SCHEMA wrn_new RENAME TO wrn_newer;
SELECT occ.update(:acc_oid, '{"id": 1}', '3', '{"balance": 13}') ->> 'balance' AS balance;
INSERT INTO wrn_newer.acc VALUES (2, 20);
SELECT occ.delete(:acc_oid, '{"id": 2}', '1') ->> 'balance' AS deleted;
SELECT 'wrn_newer' AS schema, * FROM wrn_newer.acc
UNION ALL
SELECT 'wrn_old', * FROM wrn_old.acc
ORDER BY 1, 2;

-- renaming the table itself, and a column, are followed as well
ALTER TABLE wrn_newer.acc RENAME TO account;
ALTER TABLE wrn_newer.account RENAME COLUMN balance TO amount;
SELECT occ.update(:acc_oid, '{"id": 1}', '4', '{"amount": 14}') ->> 'amount' AS amount;

DROP SCHEMA wrn_old, wrn_newer CASCADE;
