--
-- Installing occ cannot hand anyone more than they had.  The install script
-- creates schema occ itself, so CREATE EXTENSION fails on a schema of that
-- name made beforehand (whose owner could plant functions that shadow
-- occ's own), and the schema belongs to the superuser that runs the
-- script, also when a database owner installs occ as a trusted extension:
-- that owner cannot create objects in it.
--
\set VERBOSITY default

DROP EXTENSION occ;

-- ==== a schema named occ made beforehand: CREATE EXTENSION fails ====
CREATE ROLE regress_occ_dbowner;
CREATE SCHEMA occ AUTHORIZATION regress_occ_dbowner;
CREATE EXTENSION occ; \echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS installed FROM pg_extension WHERE extname = 'occ';
DROP SCHEMA occ;

-- ==== installed by a database owner who is not a superuser ====
\set ECHO none
SELECT format('ALTER DATABASE %I OWNER TO regress_occ_dbowner', current_database()) \gexec
\set ECHO all
GRANT CREATE ON SCHEMA public TO regress_occ_dbowner;
SET ROLE regress_occ_dbowner;
CREATE EXTENSION occ;
SELECT extowner::regrole AS extension_owner FROM pg_extension WHERE extname = 'occ';
-- the schema is the extension's and a superuser's, not the installer's
SELECT nspowner = 'regress_occ_dbowner'::regrole AS installer_owns_schema,
       (SELECT rolsuper FROM pg_roles WHERE oid = nspowner) AS superuser_owns_schema
  FROM pg_namespace WHERE nspname = 'occ';
SELECT has_schema_privilege('occ', 'CREATE') AS may_create,
       has_schema_privilege('occ', 'USAGE') AS may_use;
-- the overload that would be chosen over occ.enable(regclass, ...) for an
-- unknown-typed literal cannot be planted
CREATE FUNCTION occ.enable(tbl text) RETURNS void LANGUAGE sql AS ''; \echo :LAST_ERROR_SQLSTATE
CREATE TABLE occ.planted (id int); \echo :LAST_ERROR_SQLSTATE
ALTER SCHEMA occ RENAME TO occ_moved; \echo :LAST_ERROR_SQLSTATE
-- what the owner may do: use occ on its own tables
CREATE TABLE dbowner_items (id int PRIMARY KEY, qty int);
INSERT INTO dbowner_items VALUES (1, 10);
SELECT occ.enable('dbowner_items');
UPDATE dbowner_items SET qty = 11, version = 0 WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
DROP TABLE dbowner_items;
RESET ROLE;

-- ==== back to the state the other tests expect ====
DROP EXTENSION occ;
CREATE EXTENSION occ;
\set ECHO none
SELECT format('ALTER DATABASE %I OWNER TO %I', current_database(), current_user) \gexec
\set ECHO all
REVOKE CREATE ON SCHEMA public FROM regress_occ_dbowner;
DROP ROLE regress_occ_dbowner;
SELECT (SELECT rolsuper FROM pg_roles WHERE oid = nspowner) AS superuser_owns_schema
  FROM pg_namespace WHERE nspname = 'occ';
