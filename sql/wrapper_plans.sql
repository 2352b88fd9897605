--
-- The wrappers keep their prepared statements for the session and never
-- free one that a wrapper call is still running (issue 8, item 5): a
-- trigger fired by the statement of an outer occ.update invalidates the
-- outer call's plan (GRANT sends a relcache invalidation, as a concurrent
-- ANALYZE does) and calls occ.update itself.
--
\set VERBOSITY default
\set SHOW_CONTEXT never

CREATE ROLE regress_occ_wp;
CREATE TABLE wp_a (id int PRIMARY KEY, x int);
CREATE TABLE wp_b (id int PRIMARY KEY, x int);
INSERT INTO wp_a VALUES (1, 0);
INSERT INTO wp_b VALUES (1, 0);
SELECT occ.enable('wp_a');
SELECT occ.enable('wp_b');

CREATE FUNCTION wp_after_a() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  GRANT SELECT ON wp_a TO regress_occ_wp;
  PERFORM occ.update('wp_b', jsonb_build_object('id', NEW.id), NULL,
                     jsonb_build_object('x', NEW.x));
  RETURN NULL;
END $$;
CREATE TRIGGER wp_after_a AFTER UPDATE ON wp_a
  FOR EACH ROW EXECUTE FUNCTION wp_after_a();

-- a new session: nothing kept yet
\c -
SELECT occ.update('wp_a', '{"id": 1}', NULL, '{"x": 1}');
-- the outer plan, invalidated while it ran, is prepared again
SELECT occ.update('wp_a', '{"id": 1}', '2', '{"x": 2}');
SELECT occ.update('wp_a', '{"id": 1}', '2', '{"x": 3}'); \echo :LAST_ERROR_SQLSTATE
SELECT * FROM wp_a ORDER BY id;
SELECT * FROM wp_b ORDER BY id;

-- a nested call of the same shape as the outer one, whose kept statement
-- it finds invalid while the outer call runs it: it prepares one for
-- itself; and a nested call that fails, caught by the trigger
INSERT INTO wp_a VALUES (2, 0);
CREATE OR REPLACE FUNCTION wp_after_a() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.id = 1 THEN
    GRANT SELECT ON wp_a TO regress_occ_wp;
    PERFORM occ.update('wp_a', '{"id": 2}', '*', jsonb_build_object('x', NEW.x));
    BEGIN
      PERFORM occ.update('wp_a', '{"id": 42}', '*', '{"x": 0}');
    EXCEPTION WHEN no_data_found THEN
      RAISE NOTICE 'nested call: %', SQLERRM;
    END;
  END IF;
  RETURN NULL;
END $$;
\c -
SELECT occ.update('wp_a', '{"id": 1}', '3', '{"x": 4}');
SELECT occ.update('wp_a', '{"id": 1}', '4', '{"x": 5}');
SELECT occ.update('wp_a', '{"id": 2}', '3', '{"x": 6}');
SELECT * FROM wp_a ORDER BY id;

-- the same shape on a table dropped and created again under the same name
-- is a new table with a new plan
DROP TABLE wp_b;
CREATE TABLE wp_b (id int PRIMARY KEY, y int, x int);
INSERT INTO wp_b VALUES (1, 9, 0);
SELECT occ.enable('wp_b');
SELECT occ.update('wp_b', '{"id": 1}', '1', '{"x": 6}');

DROP TABLE wp_a, wp_b;
DROP FUNCTION wp_after_a();
DROP ROLE regress_occ_wp;
