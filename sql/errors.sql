--
-- The errors of occ in full: SQLSTATE, message, DETAIL, HINT and the
-- schema, table and column fields that clients read without parsing text.
--
CREATE SCHEMA bank;
CREATE TABLE bank.accounts (id int PRIMARY KEY, balance int NOT NULL);
INSERT INTO bank.accounts VALUES (1, 100);
SELECT occ.enable('bank.accounts', 'row_version', mode => 'strict');
UPDATE bank.accounts SET balance = 110, row_version = 1 WHERE id = 1;

-- (VERBOSITY verbose would also print LOCATION, a line number in the C
-- source; the fields are shown below as an application reads them.)
\set VERBOSITY default
\set SHOW_CONTEXT never
-- ==== 40V01: a stale write ====
UPDATE bank.accounts SET balance = 120, row_version = 1 WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
SET occ.if_match = '"1"';
DELETE FROM bank.accounts WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
-- ==== 23V01: a write to a strict table that states no version ====
RESET occ.if_match;
UPDATE bank.accounts SET balance = 120 WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
DELETE FROM bank.accounts WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
-- ==== 22P02: occ.if_match that cannot be read ====
SET occ.if_match = '"2';
UPDATE bank.accounts SET balance = 120 WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
RESET occ.if_match;

-- ==== the fields as an application sees them ====
CREATE FUNCTION try_write(sql text) RETURNS TABLE (field text, value text)
LANGUAGE plpgsql AS $$
DECLARE
  st text; sch text; tbl text; col text; msg text;
BEGIN
  EXECUTE sql;
  RETURN QUERY SELECT 'outcome', 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, sch = SCHEMA_NAME,
                          tbl = TABLE_NAME, col = COLUMN_NAME, msg = MESSAGE_TEXT;
  RETURN QUERY VALUES ('sqlstate', st), ('schema_name', sch), ('table_name', tbl),
                      ('column_name', col), ('message', msg);
END
$$;
SELECT * FROM try_write('UPDATE bank.accounts SET balance = 1, row_version = 0 WHERE id = 1');
SELECT * FROM try_write('UPDATE bank.accounts SET balance = 1 WHERE id = 1');
SELECT * FROM try_write('DELETE FROM bank.accounts WHERE id = 1');
SELECT * FROM try_write($$SET LOCAL occ.if_match = '"1"'; DELETE FROM bank.accounts WHERE id = 1$$);
-- generic retry logic keys on class 40: a stale write is one of them
DO $$
BEGIN
  UPDATE bank.accounts SET balance = 1, row_version = 0 WHERE id = 1;
EXCEPTION WHEN transaction_rollback THEN
  RAISE NOTICE 'caught as transaction_rollback (class 40): %', SQLSTATE;
END
$$;
SELECT * FROM bank.accounts;

DROP FUNCTION try_write(text);
DROP SCHEMA bank CASCADE;
