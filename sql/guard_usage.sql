--
-- The DDL guard needs nothing from schema occ that a role may lack: with
-- USAGE on schema occ revoked from PUBLIC (a plausible hardening step),
-- roles that never use occ still run ALTER TABLE and CREATE TRIGGER on
-- their own tables, and tables protected by occ are still guarded.
--
\set VERBOSITY default

CREATE ROLE regress_occ_usage;
GRANT USAGE, CREATE ON SCHEMA public TO regress_occ_usage;

-- a protected table owned by that role, enabled while it still had USAGE
SET ROLE regress_occ_usage;
CREATE TABLE usage_guarded (id int PRIMARY KEY, qty int);
INSERT INTO usage_guarded VALUES (1, 10);
SELECT occ.enable('usage_guarded');
RESET ROLE;

REVOKE USAGE ON SCHEMA occ FROM PUBLIC;

-- ==== DDL of a role that does not use occ keeps working ====
SET ROLE regress_occ_usage;
CREATE TABLE usage_plain (id int PRIMARY KEY, note text);
ALTER TABLE usage_plain ADD COLUMN extra int;
ALTER TABLE usage_plain RENAME COLUMN note TO remark;
ALTER TABLE usage_plain DROP COLUMN extra;
CREATE FUNCTION usage_noop() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RETURN NEW;
END $$;
CREATE TRIGGER noop BEFORE UPDATE ON usage_plain FOR EACH ROW EXECUTE FUNCTION usage_noop();
ALTER TABLE usage_plain DISABLE TRIGGER noop;
DROP TABLE usage_plain;

-- ==== a protected table is still guarded ====
ALTER TABLE usage_guarded ADD COLUMN note text;
CREATE TRIGGER noop BEFORE UPDATE ON usage_guarded FOR EACH ROW EXECUTE FUNCTION usage_noop();
ALTER TABLE usage_guarded DROP COLUMN version; \echo :LAST_ERROR_SQLSTATE
ALTER TABLE usage_guarded ALTER COLUMN version TYPE text; \echo :LAST_ERROR_SQLSTATE
-- following a rename needs occ.check_version(): without USAGE, it is refused
ALTER TABLE usage_guarded RENAME COLUMN version TO v; \echo :LAST_ERROR_SQLSTATE
UPDATE usage_guarded SET qty = 11, version = 1 WHERE id = 1;
UPDATE usage_guarded SET qty = 12, version = 1 WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT table_name, version_column FROM occ.tables WHERE table_name = 'usage_guarded'::regclass;

GRANT USAGE ON SCHEMA occ TO PUBLIC;
DROP TABLE usage_guarded;
DROP FUNCTION usage_noop();
REVOKE ALL ON SCHEMA public FROM regress_occ_usage;
DROP ROLE regress_occ_usage;
