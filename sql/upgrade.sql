--
-- The upgrade path: CREATE EXTENSION occ VERSION '1.0' followed by ALTER
-- EXTENSION occ UPDATE yields the same objects as a fresh install of the
-- newest version, and tables enabled under 1.0 stay protected.
--
\set VERBOSITY default

-- Every member object of the extension with what defines it.
CREATE FUNCTION occ_objects()
RETURNS TABLE (object text, definition text)
LANGUAGE sql AS $$
  SELECT pg_describe_object(d.classid, d.objid, 0),
         CASE d.classid
           WHEN 'pg_proc'::regclass THEN
             pg_get_functiondef(d.objid) || coalesce(' ACL ' || (
               SELECT proacl::text FROM pg_proc WHERE oid = d.objid), '')
           WHEN 'pg_class'::regclass THEN
             pg_get_viewdef(d.objid) || coalesce(' ACL ' || (
               SELECT relacl::text FROM pg_class WHERE oid = d.objid), '')
           WHEN 'pg_event_trigger'::regclass THEN
             (SELECT evtevent || ' ' || evttags::text || ' ' || evtfoid::regprocedure::text
                     || ' ' || evtenabled::text FROM pg_event_trigger WHERE oid = d.objid)
           ELSE ''
         END || coalesce(' COMMENT ' || obj_description(d.objid, d.classid::regclass::text), '')
  FROM pg_depend d
  WHERE d.refclassid = 'pg_extension'::regclass
    AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'occ')
    AND d.deptype = 'e'
$$;

DROP EXTENSION occ;
CREATE EXTENSION occ VERSION '1.0';
SELECT extversion FROM pg_extension WHERE extname = 'occ';
SELECT object FROM occ_objects() ORDER BY object;

-- a table protected under 1.0
CREATE TABLE up_acc (id int PRIMARY KEY, balance int);
INSERT INTO up_acc VALUES (1, 10);
SELECT occ.enable('up_acc', mode => 'strict');
UPDATE up_acc SET balance = 11, version = 1 WHERE id = 1;

ALTER EXTENSION occ UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'occ';
CREATE TEMP TABLE upgraded AS SELECT * FROM occ_objects();

-- still protected, with what 1.1 adds: the DDL guard
UPDATE up_acc SET balance = 12, version = 1 WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
UPDATE up_acc SET balance = 12 WHERE id = 1; \echo :LAST_ERROR_SQLSTATE
ALTER TABLE up_acc RENAME COLUMN version TO v;
SELECT table_name, version_column, mode FROM occ.tables WHERE table_name = 'up_acc'::regclass;
UPDATE up_acc SET balance = 12, v = 2 WHERE id = 1;
SELECT * FROM up_acc;
SELECT occ.disable('up_acc');
DROP TABLE up_acc;

-- a fresh install of the newest version has exactly the same objects
DROP EXTENSION occ;
CREATE EXTENSION occ;
SELECT extversion FROM pg_extension WHERE extname = 'occ';
CREATE TEMP TABLE fresh AS SELECT * FROM occ_objects();
SELECT object FROM fresh ORDER BY object;
SELECT 'only after upgrade' AS side, object FROM (SELECT * FROM upgraded EXCEPT SELECT * FROM fresh) u
UNION ALL
SELECT 'only in fresh install', object FROM (SELECT * FROM fresh EXCEPT SELECT * FROM upgraded) f
ORDER BY 1, 2;

DROP FUNCTION occ_objects();
