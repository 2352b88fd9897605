--
-- partitions: enabling a partitioned table protects every partition --
-- present, created later, or attached later, whatever its physical column
-- order -- while plain inheritance children stay on their own.
--

-- Run a statement and report its error the way a client would read the
-- error fields, without the C source location that VERBOSITY verbose shows.
CREATE FUNCTION part_try(stmt text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_state text;
    v_schema text;
    v_table text;
    v_column text;
    v_message text;
    v_detail text;
    v_hint text;
BEGIN
    EXECUTE stmt;
    RAISE NOTICE 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE,
                            v_schema = SCHEMA_NAME,
                            v_table = TABLE_NAME,
                            v_column = COLUMN_NAME,
                            v_message = MESSAGE_TEXT,
                            v_detail = PG_EXCEPTION_DETAIL,
                            v_hint = PG_EXCEPTION_HINT;
    RAISE NOTICE 'sqlstate %: %', v_state, v_message;
    IF v_detail <> '' THEN
        RAISE NOTICE 'detail: %', v_detail;
    END IF;
    IF v_hint <> '' THEN
        RAISE NOTICE 'hint: %', v_hint;
    END IF;
    IF v_table <> '' THEN
        RAISE NOTICE 'schema_name=% table_name=% column_name=%',
            v_schema, v_table, v_column;
    END IF;
END
$$;

-- Triggers named occ_version on the given tables, clones marked.
CREATE FUNCTION part_triggers(pattern text)
RETURNS TABLE (table_name text, trigger_name name, is_clone boolean)
LANGUAGE sql AS $$
    SELECT c.relname::text, t.tgname, t.tgparentid <> 0
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    WHERE c.relname LIKE pattern AND t.tgname = 'occ_version'
    ORDER BY 1
$$;

-- ===================================================================
-- existing partitions
-- ===================================================================
CREATE TABLE part_orders (
    id int NOT NULL,
    region text NOT NULL,
    amount int,
    PRIMARY KEY (id, region)
) PARTITION BY LIST (region);
CREATE TABLE part_orders_eu PARTITION OF part_orders FOR VALUES IN ('eu');
CREATE TABLE part_orders_us PARTITION OF part_orders FOR VALUES IN ('us');
INSERT INTO part_orders VALUES (1, 'eu', 10), (2, 'us', 20);

SELECT occ.enable('part_orders');

-- The column reaches every partition, and existing rows start at 1.
SELECT tableoid::regclass AS part, id, region, amount, version
FROM part_orders ORDER BY id;

-- ===================================================================
-- a partition created later
-- ===================================================================
CREATE TABLE part_orders_asia PARTITION OF part_orders FOR VALUES IN ('asia');
INSERT INTO part_orders VALUES (3, 'asia', 30);

-- ===================================================================
-- a table attached later, with its columns in another physical order
-- ===================================================================
-- Created on its own, with a dropped column in front, so that none of its
-- columns has the same number as in the parent.
CREATE TABLE part_orders_latam (
    junk int,
    version bigint NOT NULL DEFAULT 1,
    amount int,
    region text NOT NULL,
    id int NOT NULL
);
ALTER TABLE part_orders_latam DROP COLUMN junk;
INSERT INTO part_orders_latam (id, region, amount, version)
    VALUES (4, 'latam', 40, 7);
ALTER TABLE part_orders ATTACH PARTITION part_orders_latam
    FOR VALUES IN ('latam');

SELECT attrelid::regclass AS rel, attnum, attname
FROM pg_attribute
WHERE attrelid IN ('part_orders'::regclass, 'part_orders_latam'::regclass)
  AND attnum > 0
ORDER BY attrelid::regclass::text, attnum;

-- Every partition has the trigger, cloned from the parent's.
SELECT * FROM part_triggers('part_orders%');

-- occ.tables lists the partitioned table once, and no partition.
SELECT table_name, schema_name, version_column, kind, mode, effective_mode
FROM occ.tables WHERE table_name::text LIKE 'part\_%' ORDER BY table_name::text;

-- ===================================================================
-- checks and advancing on every partition
-- ===================================================================
-- One UPDATE through the parent advances every row by one.
UPDATE part_orders SET amount = amount + 1;
SELECT tableoid::regclass AS part, id, region, amount, version
FROM part_orders ORDER BY id;

-- A stated version is checked on every partition, through the parent...
SELECT part_try($$UPDATE part_orders SET amount = 0, version = 1 WHERE id = 1$$);
SELECT part_try($$UPDATE part_orders SET amount = 0, version = 1 WHERE id = 2$$);
SELECT part_try($$UPDATE part_orders SET amount = 0, version = 1 WHERE id = 3$$);
SELECT part_try($$UPDATE part_orders SET amount = 0, version = 1 WHERE id = 4$$);
-- ...and on the partitions themselves.
SELECT part_try($$UPDATE part_orders_asia SET amount = 0, version = 0 WHERE id = 3$$);
SELECT part_try($$UPDATE part_orders_latam SET amount = 0, version = 0 WHERE id = 4$$);
SET occ.if_match = '"5"';
SELECT part_try($$DELETE FROM part_orders WHERE id = 4$$);
RESET occ.if_match;
SELECT tableoid::regclass AS part, id, region, amount, version
FROM part_orders ORDER BY id;

-- The current versions pass.  Each row's own version column advances,
-- also where it has another column number than in the parent.
UPDATE part_orders SET amount = 31, version = 2 WHERE id = 3;
UPDATE part_orders SET amount = 41, version = 8 WHERE id = 4;
UPDATE part_orders_latam SET amount = 42, version = 9 WHERE id = 4;
SET occ.if_match = '"10"';
UPDATE part_orders_latam SET amount = 43 WHERE id = 4;
RESET occ.if_match;
SELECT tableoid::regclass AS part, id, region, amount, version
FROM part_orders ORDER BY id;

-- ===================================================================
-- cross-partition UPDATE (row movement)
-- ===================================================================
-- Stating the version: checked once, advanced once (2 -> 3), and the row
-- keeps it in its new partition.
UPDATE part_orders SET region = 'us', version = 2 WHERE id = 1;
SELECT tableoid::regclass AS part, id, region, amount, version
FROM part_orders WHERE id = 1 ORDER BY id;

-- Through occ.if_match (3 -> 4).
SET occ.if_match = '"3"';
UPDATE part_orders SET region = 'asia' WHERE id = 1;
RESET occ.if_match;
SELECT tableoid::regclass AS part, id, region, amount, version
FROM part_orders WHERE id = 1 ORDER BY id;

-- Into and out of the partition whose columns are in another order
-- (4 -> 5 -> 6).
UPDATE part_orders SET region = 'latam', version = 4 WHERE id = 1;
SELECT tableoid::regclass AS part, id, region, amount, version
FROM part_orders WHERE id = 1 ORDER BY id;
UPDATE part_orders SET region = 'eu', version = 5 WHERE id = 1;
SELECT tableoid::regclass AS part, id, region, amount, version
FROM part_orders WHERE id = 1 ORDER BY id;

-- Not stating it, in lax mode: allowed, advanced once (6 -> 7).
UPDATE part_orders SET region = 'us' WHERE id = 1;
SELECT tableoid::regclass AS part, id, region, amount, version
FROM part_orders WHERE id = 1 ORDER BY id;

-- A stale row movement fails; the error names the partition the row is in,
-- and the row stays where it was.
SELECT part_try($$UPDATE part_orders SET region = 'eu', version = 3 WHERE id = 1$$);
SELECT part_try($$UPDATE part_orders SET region = 'eu', version = 3 WHERE id = 4$$);
SET occ.if_match = '"3"';
SELECT part_try($$UPDATE part_orders SET region = 'eu' WHERE id = 1$$);
RESET occ.if_match;
SELECT tableoid::regclass AS part, id, region, amount, version
FROM part_orders ORDER BY id;

-- ===================================================================
-- row movement in strict mode
-- ===================================================================
SELECT occ.set_mode('part_orders', 'strict');
SELECT table_name, mode, effective_mode
FROM occ.tables WHERE table_name::text LIKE 'part\_%' ORDER BY table_name::text;

-- The version stated in the SET list covers the whole movement: the DELETE
-- from the old partition is not refused as a write stating nothing
-- (7 -> 8).
UPDATE part_orders SET region = 'asia', version = 7 WHERE id = 1;
-- The same through occ.if_match (8 -> 9).
SET occ.if_match = '"8"';
UPDATE part_orders SET region = 'latam' WHERE id = 1;
-- The version assigned wins over occ.if_match, for both halves of the
-- movement: a stale occ.if_match does not fail the DELETE (9 -> 10 -> 11).
SET occ.if_match = '"1"';
UPDATE part_orders SET region = 'us', version = 9 WHERE id = 1;
UPDATE part_orders SET region = 'latam', version = 10 WHERE id = 1;
-- Several rows moving in one statement: each is checked and advanced once
-- (rows 1 and 4: 11 -> 12 -> 13).
SET occ.if_match = '*';
UPDATE part_orders SET region = 'us' WHERE region = 'latam';
UPDATE part_orders SET region = 'latam' WHERE id IN (1, 4);
RESET occ.if_match;
SELECT tableoid::regclass AS part, id, region, amount, version
FROM part_orders WHERE id = 1 ORDER BY id;

-- Stating nothing is refused, moving or not.
SELECT part_try($$UPDATE part_orders SET region = 'eu' WHERE id = 1$$);
SELECT part_try($$UPDATE part_orders SET amount = 0 WHERE id = 1$$);
-- A stale movement out of the reordered partition names it.
SELECT part_try($$UPDATE part_orders SET region = 'eu', version = 2 WHERE id = 1$$);
SELECT tableoid::regclass AS part, id, region, amount, version
FROM part_orders ORDER BY id;

-- ===================================================================
-- settings are changed on the partitioned table only
-- ===================================================================
-- set_mode and disable on a partition are refused (55000)...
SELECT part_try($$SELECT occ.set_mode('part_orders_eu', 'none')$$);
SELECT part_try($$SELECT occ.set_mode('part_orders_latam', NULL)$$);
SELECT part_try($$SELECT occ.disable('part_orders_eu')$$);
SELECT part_try($$SELECT occ.disable('part_orders_latam', drop_column => true)$$);
-- ...as is enable with another mode or another column.
SELECT part_try($$SELECT occ.enable('part_orders_eu', mode => 'lax')$$);
SELECT part_try($$SELECT occ.enable('part_orders_eu', version_column => 'amount')$$);

-- enable with the same settings changes nothing: no second trigger.
SELECT occ.enable('part_orders_eu');
SELECT occ.enable('part_orders_eu', mode => 'strict');
SELECT * FROM part_triggers('part_orders%');

-- Nothing changed: the partitions are still strict and checked, and the
-- reordered partition still has its version column.
SELECT part_try($$UPDATE part_orders_us SET amount = 0 WHERE id = 2$$);
SELECT part_try($$UPDATE part_orders_latam SET amount = 0 WHERE id = 1$$);
SELECT part_try($$UPDATE part_orders_latam SET amount = 0, version = 1 WHERE id = 4$$);
SELECT table_name, mode, effective_mode
FROM occ.tables WHERE table_name::text LIKE 'part\_%' ORDER BY table_name::text;

-- Changing the partitioned table's mode reaches every partition.
SELECT occ.set_mode('part_orders', 'lax');
UPDATE part_orders_us SET amount = 22 WHERE id = 2;
UPDATE part_orders_latam SET amount = 12 WHERE id = 1;
SELECT tableoid::regclass AS part, id, region, amount, version
FROM part_orders ORDER BY id;
SELECT * FROM part_triggers('part_orders%');

-- ===================================================================
-- detaching
-- ===================================================================
-- A detached partition loses the cloned trigger: it is a table of its own
-- again, no longer protected, and occ.tables still does not list it.
ALTER TABLE part_orders DETACH PARTITION part_orders_asia;
SELECT * FROM part_triggers('part_orders%');
UPDATE part_orders_asia SET amount = 33 WHERE id = 3;
SELECT id, region, amount, version FROM part_orders_asia ORDER BY id;
SELECT table_name FROM occ.tables
WHERE table_name::text LIKE 'part\_%' ORDER BY table_name::text;

-- A table enabled on its own cannot be attached as it is: PostgreSQL
-- refuses to clone a second trigger of the same name, so it never ends up
-- with two triggers that would advance its rows twice.
SELECT occ.enable('part_orders_asia', mode => 'strict');
ALTER TABLE part_orders ATTACH PARTITION part_orders_asia
    FOR VALUES IN ('asia');
-- Disabled first, it attaches and follows the partitioned table's settings
-- (lax), keeping its rows' versions.
SELECT occ.disable('part_orders_asia');
ALTER TABLE part_orders ATTACH PARTITION part_orders_asia
    FOR VALUES IN ('asia');
SELECT * FROM part_triggers('part_orders%');
UPDATE part_orders SET amount = 34 WHERE id = 3;
SELECT part_try($$UPDATE part_orders SET amount = 0, version = 1 WHERE id = 3$$);
SELECT tableoid::regclass AS part, id, region, amount, version
FROM part_orders ORDER BY id;

-- ===================================================================
-- plain inheritance children are not covered
-- ===================================================================
CREATE TABLE part_inh_parent (id int PRIMARY KEY, amount int);
CREATE TABLE part_inh_child () INHERITS (part_inh_parent);
INSERT INTO part_inh_parent VALUES (1, 10);
INSERT INTO part_inh_child VALUES (2, 20);

SELECT occ.enable('part_inh_parent');
SELECT * FROM part_triggers('part_inh%');

-- The column is inherited, but the child's rows are not protected: they
-- do not advance, whether updated directly or through the parent, and a
-- stale version is not checked.
UPDATE part_inh_child SET amount = 21 WHERE id = 2;
UPDATE part_inh_parent SET amount = amount + 1;
UPDATE part_inh_child SET amount = 23, version = 99 WHERE id = 2;
SELECT tableoid::regclass AS tbl, id, amount, version
FROM part_inh_parent ORDER BY id;

-- Enabled on its own, the child adopts the inherited column.
UPDATE part_inh_child SET version = 1 WHERE id = 2;
SELECT occ.enable('part_inh_child', mode => 'strict');
UPDATE part_inh_child SET amount = 24, version = 1 WHERE id = 2;
UPDATE part_inh_parent SET amount = 25, version = 2 WHERE id = 2;
SELECT part_try($$UPDATE part_inh_child SET amount = 0, version = 1 WHERE id = 2$$);
SELECT part_try($$UPDATE part_inh_parent SET amount = 0 WHERE id = 2$$);
SELECT tableoid::regclass AS tbl, id, amount, version
FROM part_inh_parent ORDER BY id;

-- Both are listed, each with its own settings.
SELECT table_name, version_column, kind, mode, effective_mode
FROM occ.tables WHERE table_name::text LIKE 'part\_%' ORDER BY table_name::text;

-- Unlike a partition, the child is managed on its own.
SELECT occ.disable('part_inh_child');
SELECT table_name FROM occ.tables
WHERE table_name::text LIKE 'part\_%' ORDER BY table_name::text;

-- ===================================================================
-- clean up
-- ===================================================================
DROP TABLE part_orders, part_inh_parent, part_inh_child;
DROP FUNCTION part_try(text);
DROP FUNCTION part_triggers(text);
SELECT count(*) FROM occ.tables WHERE table_name::text LIKE 'part\_%';
