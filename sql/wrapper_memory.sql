--
-- The wrappers' memory is bounded (issue 8, item 7): failing calls leave
-- nothing behind, and the prepared statements kept for the session are
-- capped, however many shapes of key and changes callers choose (an HTTP
-- PATCH body picks its columns).  Measured through
-- pg_backend_memory_contexts (PostgreSQL 14 and later; on 13 the
-- measurements read 0 and only the outcomes are checked).
--
\set VERBOSITY default
\set SHOW_CONTEXT never

-- bytes in use in the contexts of this name, or in all contexts
CREATE FUNCTION wm_used(context text DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  used bigint := 0;
BEGIN
  IF current_setting('server_version_num')::int >= 140000 THEN
    EXECUTE 'SELECT coalesce(sum(total_bytes - free_bytes), 0)::bigint
               FROM pg_backend_memory_contexts WHERE $1 IS NULL OR name = $1'
      INTO used USING context;
  END IF;
  RETURN used;
END $$;

-- kept statements of the wrappers for a table, by their text
CREATE FUNCTION wm_kept(tbl text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  kept bigint := 0;
BEGIN
  IF current_setting('server_version_num')::int >= 140000 THEN
    EXECUTE 'SELECT count(*) FROM pg_backend_memory_contexts
              WHERE name = ''CachedPlanSource'' AND ident LIKE $1'
      INTO kept USING '% ONLY public.' || tbl || ' AS t %';
  END IF;
  RETURN kept;
END $$;

-- call occ.update "times" times, returning each SQLSTATE seen and how often
CREATE FUNCTION wm_fail(times int, tbl regclass, key jsonb, if_match text, changes jsonb)
RETURNS TABLE (sqlstate text, calls int) LANGUAGE plpgsql AS $$
DECLARE
  seen jsonb := '{}';
  outcome text;
BEGIN
  FOR i IN 1 .. times LOOP
    BEGIN
      PERFORM occ.update(tbl, key, if_match, changes);
      outcome := 'ok';
    EXCEPTION WHEN OTHERS THEN
      outcome := SQLSTATE;
    END;
    seen := seen || jsonb_build_object(outcome, coalesce((seen ->> outcome)::int, 0) + 1);
  END LOOP;
  RETURN QUERY SELECT key_value.key, key_value.value::int FROM jsonb_each_text(seen) key_value
                ORDER BY 1;
END $$;

CREATE TABLE wm_acc (id int PRIMARY KEY, owner text, balance int);
INSERT INTO wm_acc VALUES (1, 'ann', 100);
SELECT occ.enable('wm_acc');

-- ==== failing calls leave nothing behind ====
-- warm up the caches, then 5000 calls of each kind of failure
SELECT * FROM wm_fail(100, 'wm_acc', '{"owner": "ann"}', '*', '{}');
SELECT * FROM wm_fail(100, 'wm_acc', '{"id": 1}', '"0"', '{"balance": 1}');
SELECT wm_used('TopMemoryContext') AS top_before, wm_used() AS all_before \gset
SELECT * FROM wm_fail(5000, 'wm_acc', '{"owner": "ann"}', '*', '{}');
SELECT * FROM wm_fail(5000, 'wm_acc', '{"id": 1}', '"0"', '{"balance": 1}');
SELECT * FROM wm_fail(5000, 'wm_acc', '{"id": 1}', '*', '{"balance": "lots"}');
SELECT wm_used('TopMemoryContext') - :top_before < 16384 AS top_memory_bounded,
       wm_used() - :all_before < 65536 AS backend_memory_bounded;

-- ==== kept statements are capped ====
-- 1000 distinct sets of changed columns of a table with ten columns
CREATE TABLE wm_wide (id int PRIMARY KEY, c1 int, c2 int, c3 int, c4 int, c5 int,
                      c6 int, c7 int, c8 int, c9 int, c10 int);
INSERT INTO wm_wide VALUES (1);
SELECT occ.enable('wm_wide');
CREATE FUNCTION wm_shapes(first int, last int) RETURNS bigint LANGUAGE sql AS $$
  SELECT count(occ.update('wm_wide', '{"id": 1}', '*',
                          (SELECT jsonb_object_agg('c' || b, shape) FROM generate_series(1, 10) b
                            WHERE shape & (1 << (b - 1)) <> 0)))
    FROM generate_series(first, last) shape
$$;
SELECT wm_shapes(1, 200) AS written;
SELECT wm_used() AS all_before \gset
SELECT wm_shapes(201, 1000) AS written;
SELECT wm_kept('wm_wide') <= 64 AS kept_capped,
       wm_used() - :all_before < 262144 AS backend_memory_bounded;
SELECT version, c1, c10 FROM wm_wide;

DROP TABLE wm_acc, wm_wide;
DROP FUNCTION wm_used(text), wm_kept(text), wm_fail(int, regclass, jsonb, text, jsonb),
  wm_shapes(int, int);
