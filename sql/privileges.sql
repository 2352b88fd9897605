--
-- Who may do what: only a table's owner enables, disables or changes the
-- mode; weakening occ.default_mode needs privilege; occ.if_match is for
-- everyone; a stale-write DETAIL shows the key only to those who may see it.
--
\set VERBOSITY default

CREATE ROLE regress_occ_owner;
CREATE ROLE regress_occ_writer;
GRANT USAGE, CREATE ON SCHEMA public TO regress_occ_owner;

SET ROLE regress_occ_owner;
CREATE TABLE owned (id int PRIMARY KEY, secret text, qty int);
INSERT INTO owned VALUES (1, 'hidden', 10);
-- the owner, not a superuser, may enable
SELECT occ.enable('owned');
GRANT SELECT (qty, version), UPDATE (qty, version) ON owned TO regress_occ_writer;
RESET ROLE;

-- ==== others may not change the protection ====
SET ROLE regress_occ_writer;
SELECT occ.disable('owned'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.set_mode('owned', 'none'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('owned', mode => 'none'); \echo :LAST_ERROR_SQLSTATE
SELECT occ.enable('owned', 'qty'); \echo :LAST_ERROR_SQLSTATE
DROP TRIGGER occ_version ON owned; \echo :LAST_ERROR_SQLSTATE
ALTER TABLE owned DISABLE TRIGGER occ_version; \echo :LAST_ERROR_SQLSTATE
SELECT table_name, version_column, mode, effective_mode FROM occ.tables
 WHERE table_name = 'owned'::regclass;

-- ==== nor weaken the default mode ====
SET occ.default_mode = 'none'; \echo :LAST_ERROR_SQLSTATE
SHOW occ.default_mode;

-- ==== but may write, held to the same rule, and state versions ====
SET occ.if_match = '"1"';
UPDATE owned SET qty = 11 WHERE qty = 10;
RESET occ.if_match;
-- the key (id) is not visible to this role: the DETAIL leaves it out
UPDATE owned SET qty = 12, version = 1 WHERE qty = 11; \echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- the owner sees the key
SET ROLE regress_occ_owner;
UPDATE owned SET qty = 12, version = 1 WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
-- and may change the mode and disable
SELECT occ.set_mode('owned', 'strict');
RESET ROLE;

SET ROLE regress_occ_owner;
SELECT occ.disable('owned', drop_column => true);
SELECT count(*) AS listed FROM occ.tables WHERE table_name = 'owned'::regclass;
DROP TABLE owned;
RESET ROLE;

-- ==== a trusted extension: a database owner without superuser installs it ====
DROP EXTENSION occ;
SELECT current_database() AS db \gset
GRANT CREATE ON DATABASE :"db" TO regress_occ_owner;
SET ROLE regress_occ_owner;
CREATE EXTENSION occ;
CREATE TABLE owned2 (id int PRIMARY KEY);
INSERT INTO owned2 VALUES (1);
SELECT occ.enable('owned2', mode => 'strict');
UPDATE owned2 SET id = 1; \echo :LAST_ERROR_SQLSTATE
-- none of occ's functions runs with more rights than its caller
SELECT p.proname, p.prosecdef, p.proconfig
  FROM pg_proc p WHERE p.pronamespace = 'occ'::regnamespace ORDER BY p.proname;
DROP TABLE owned2;
DROP EXTENSION occ;
RESET ROLE;
REVOKE CREATE ON DATABASE :"db" FROM regress_occ_owner;
CREATE EXTENSION occ;

REVOKE ALL ON SCHEMA public FROM regress_occ_owner;
DROP ROLE regress_occ_owner, regress_occ_writer;
