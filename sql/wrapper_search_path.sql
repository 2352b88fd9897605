--
-- occ.update and occ.delete leave the session's search_path alone: the
-- table's own triggers and row-level security policies run in the same
-- environment as for a plain UPDATE or DELETE (issue 8, item 4).
--
\set VERBOSITY default
\set SHOW_CONTEXT never

CREATE SCHEMA wsp;
CREATE TABLE wsp.audit (id int, what text);
CREATE TABLE wsp.doc (id int PRIMARY KEY, body text);
INSERT INTO wsp.doc VALUES (1, 'a'), (2, 'b');
SELECT occ.enable('wsp.doc');

-- a trigger and a policy function that name things without a schema
CREATE FUNCTION wsp.log_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO audit VALUES (OLD.id, TG_OP);
  RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE TRIGGER doc_log BEFORE UPDATE OR DELETE ON wsp.doc
  FOR EACH ROW EXECUTE FUNCTION wsp.log_write();
CREATE FUNCTION wsp.visible(id int) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  RETURN NOT EXISTS (SELECT FROM audit a WHERE a.id = visible.id AND a.what = 'hidden');
END $$;
ALTER TABLE wsp.doc ENABLE ROW LEVEL SECURITY;
ALTER TABLE wsp.doc FORCE ROW LEVEL SECURITY;
CREATE POLICY doc_visible ON wsp.doc USING (wsp.visible(id));

CREATE ROLE regress_occ_wsp;
GRANT USAGE ON SCHEMA wsp TO regress_occ_wsp;
GRANT SELECT, INSERT ON wsp.audit TO regress_occ_wsp;
GRANT SELECT, UPDATE, DELETE ON wsp.doc TO regress_occ_wsp;
SET ROLE regress_occ_wsp;
SET search_path = wsp, public;
-- a plain UPDATE works
UPDATE doc SET body = 'a2' WHERE id = 1;
-- and so do the wrappers, under the same search_path
SELECT occ.update('wsp.doc', '{"id": 1}', '2', '{"body": "a3"}') ->> 'body' AS body;
SELECT occ.delete('wsp.doc', '{"id": 2}', '1') ->> 'body' AS deleted;
-- the policy's function finds its table through the wrapper as well: a
-- hidden row is not there, for the wrapper as for a plain UPDATE
INSERT INTO audit VALUES (1, 'hidden');
SELECT occ.update('wsp.doc', '{"id": 1}', '*', '{"body": "a4"}'); \echo :LAST_ERROR_SQLSTATE
UPDATE doc SET body = 'a4' WHERE id = 1;
RESET search_path;
RESET ROLE;
SELECT * FROM wsp.doc ORDER BY id;
SELECT * FROM wsp.audit ORDER BY id, what;

-- the wrappers carry no SET clause; every other occ function keeps its
-- pinned search_path
SELECT p.oid::regprocedure AS function, p.proconfig
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'occ' AND p.proname IN ('update', 'delete', 'etag')
 ORDER BY p.proname;

DROP SCHEMA wsp CASCADE;
DROP ROLE regress_occ_wsp;
