--
-- hash_content_multirange: what counts as the same content for the hash
-- kind, for what PostgreSQL 14 brought (multiranges, numeric infinities,
-- pg_column_compression() and lz4); see hash_content for the rest.  As
-- there, tags are compared (rows of one table with the key k excluded, or
-- tables with the same column list), never printed.
--
-- lz4 is used where the server was built with it; elsewhere the table
-- meant for it is compressed with pglz, so that the output is the same.
--
\set VERBOSITY default

-- ==== helpers ====
-- The tag of the row of tbl whose k is key.
CREATE FUNCTION hcm_tag(tbl regclass, key int) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    result text;
BEGIN
    EXECUTE format('SELECT occ.etag(hcm_row) FROM %s hcm_row WHERE k = $1', tbl)
        INTO STRICT result USING key;
    RETURN result;
END $$;

-- Run an UPDATE of the row of tbl whose k is key stating the tag if_match:
-- 'ok' or the SQLSTATE it failed with.
CREATE FUNCTION hcm_update(tbl regclass, key int, if_match text,
                           assignment text DEFAULT 'k = k') RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('occ.if_match', if_match, true);
    EXECUTE format('UPDATE %s SET %s WHERE k = $1', tbl, assignment) USING key;
    PERFORM set_config('occ.if_match', '', true);
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;

-- The number of values of tbl stored out of line.
CREATE FUNCTION hcm_toasted_values(tbl regclass) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    result bigint;
BEGIN
    EXECUTE format('SELECT count(DISTINCT chunk_id) FROM %s',
                   (SELECT reltoastrelid::regclass FROM pg_class WHERE oid = tbl))
        INTO result;
    RETURN result;
END $$;

-- Two values of a type as rows 1 and 2 of a table (k int, v TYPE), k
-- excluded: whether they compare equal, print alike and have the same tag;
-- then row 1 updated to the second value under its own tag, and that tag
-- stated again (stale exactly when the content changed).
CREATE FUNCTION hcm_compare(typ text, a text, b text)
RETURNS TABLE (equal bool, prints_alike bool, same_tag bool,
               update_with_tag text, old_tag_after text)
LANGUAGE plpgsql AS $$
DECLARE
    tag_a text;
BEGIN
    EXECUTE format('CREATE TABLE hcm_case (k int, v %s)', typ);
    PERFORM occ.enable('hcm_case', kind => 'hash', exclude => '{k}');
    EXECUTE format('INSERT INTO hcm_case VALUES (1, (%s)::%s), (2, (%s)::%s)', a, typ, b, typ);
    SELECT v1.v = v2.v, v1.v::text = v2.v::text, hcm_tag('hcm_case', 1) = hcm_tag('hcm_case', 2)
      INTO equal, prints_alike, same_tag
      FROM hcm_case v1, hcm_case v2 WHERE v1.k = 1 AND v2.k = 2;
    tag_a := hcm_tag('hcm_case', 1);
    update_with_tag := hcm_update('hcm_case', 1, tag_a, format('v = (%s)::%s', b, typ));
    old_tag_after := hcm_update('hcm_case', 1, tag_a);
    DROP TABLE hcm_case;
    RETURN NEXT;
END $$;

-- ==== multiranges and numeric infinities ====
CREATE TYPE hcm_level AS ENUM ('low', 'mid', 'high');
CREATE TYPE hcm_levelrange AS RANGE (subtype = hcm_level);
CREATE TYPE hcm_span AS RANGE (subtype = int4, multirange_type_name = hcm_spans);
CREATE TABLE hcm_cases (n serial, typ text, a text, b text);
INSERT INTO hcm_cases (typ, a, b) VALUES
    -- built-in multiranges: ranges sorted, merged and made canonical
    ('int4multirange', $$'{[1,3),[5,7)}'$$, 'int4multirange(int4range(1, 3), int4range(5, 7))'),
    ('int4multirange', $$'{[1,3),[5,7)}'$$, $$'{[5,7),[1,3)}'$$),
    ('int4multirange', $$'{[1,3),[3,5)}'$$, $$'{[1,5)}'$$),
    ('int4multirange', $$'{[1,2]}'$$, $$'{[1,3)}'$$),
    ('int4multirange', $$'{[1,3)}'::int4multirange + '{[3,5)}'$$, $$'{[1,5)}'$$),
    ('int4multirange', $$'{[1,10)}'::int4multirange - '{[3,5)}'$$, $$'{[1,3),[5,10)}'$$),
    ('int4multirange', $$'{}'$$, $$'{empty}'$$),
    ('int4multirange', $$'{}'$$, 'int4multirange()'),
    ('int4multirange', $$'{[1,3)}'$$, $$'{[1,4)}'$$),
    ('int4multirange', $$'{(,)}'$$, $$'{[1,)}'$$),
    ('nummultirange', $$'{[1.0,2)}'$$, $$'{[1.00,2)}'$$),
    ('nummultirange', $$(SELECT range_agg(r) FROM (VALUES (numrange(3, 4)), (numrange(1.0, 2))) v(r))$$,
     $$'{[1.0,2),[3,4)}'$$),
    ('datemultirange', $$'{[2024-01-01,2024-01-31]}'$$, $$'{[2024-01-01,2024-02-01)}'$$),
    ('tstzmultirange', $$'{[2024-01-01 12:00+00,)}'$$, $$'{[2024-01-01 13:00+01,)}'$$),
    ('int4multirange[]', $$'{"{[1,3)}","{}"}'$$, $$ARRAY['{[1,3)}', '{}']::int4multirange[]$$),
    -- user-defined multiranges: bound by bound; hcm_span has no canonical
    -- function, so [1,2] and [1,3) are other content
    ('hcm_levelmultirange', $$'{[low,mid),[mid,high]}'$$, $$'{[low,high]}'$$),
    ('hcm_levelmultirange', $$'{[low,mid)}'$$, $$'{[low,mid]}'$$),
    ('hcm_spans', $$'{[1,3),[5,7)}'$$, 'hcm_spans(hcm_span(5, 7), hcm_span(1, 3))'),
    ('hcm_spans', $$'{[1,2]}'$$, $$'{[1,3)}'$$),
    -- numeric infinities
    ('numeric', $$'Infinity'$$, $$'inf'$$),
    ('numeric', $$'Infinity'$$, $$'-Infinity'$$),
    ('numeric', $$'Infinity'$$, $$'NaN'$$);

CREATE TABLE hcm_results AS
    SELECT n, typ, a, b, r.* FROM hcm_cases, LATERAL hcm_compare(typ, a, b) r;
SELECT * FROM hcm_results ORDER BY n;
SELECT count(*) AS cases,
       count(*) FILTER (WHERE same_tag IS DISTINCT FROM prints_alike) AS tags_not_as_printed,
       count(*) FILTER (WHERE update_with_tag IS DISTINCT FROM 'ok') AS own_tag_refused,
       count(*) FILTER (WHERE old_tag_after IS DISTINCT FROM
                              CASE WHEN same_tag THEN 'ok' ELSE '40V01' END) AS old_tag_misjudged
  FROM hcm_results;

-- ==== multiranges of user types hold no OID ====
-- A row of multiranges over an enum range and an int range, and an array
-- of them; then the types and the table dropped and re-created (new OIDs):
-- the same tag, and an UPDATE stating the old tag succeeds.
CREATE FUNCTION hcm_create_table() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    CREATE TABLE hcm_oid_free (k int, l hcm_levelmultirange, s hcm_spans,
                               ls hcm_levelmultirange[]);
    PERFORM occ.enable('hcm_oid_free', kind => 'hash', exclude => '{k}');
    INSERT INTO hcm_oid_free VALUES
        (1, '{[low,mid),(mid,high]}', '{[1,3),[5,)}', '{"{[low,low]}",NULL,"{}"}');
END $$;
SELECT hcm_create_table();
SELECT hcm_tag('hcm_oid_free', 1) AS oid_free_tag,
       'hcm_levelmultirange'::regtype::oid AS multirange_oid \gset
DROP TABLE hcm_oid_free;
DROP TYPE hcm_levelrange, hcm_span, hcm_level;
CREATE TYPE hcm_filler AS ENUM ('x');
CREATE TYPE hcm_level AS ENUM ('low', 'mid', 'high');
CREATE TYPE hcm_levelrange AS RANGE (subtype = hcm_level);
CREATE TYPE hcm_span AS RANGE (subtype = int4, multirange_type_name = hcm_spans);
SELECT hcm_create_table();
SELECT 'hcm_levelmultirange'::regtype::oid <> :multirange_oid AS new_type_oid,
       hcm_tag('hcm_oid_free', 1) = :'oid_free_tag' AS same_tag_after_recreate,
       hcm_update('hcm_oid_free', 1, :'oid_free_tag') AS update_with_old_tag;
SELECT hcm_update('hcm_oid_free', 1, :'oid_free_tag', 's = ''{[1,3),[5,6)}''') AS changed,
       hcm_update('hcm_oid_free', 1, :'oid_free_tag') AS old_tag_after;

-- ==== compression methods and out-of-line storage ====
-- The same values, a text and a multirange, compressed inline with pglz,
-- compressed inline with lz4 (pglz on a server without lz4), and
-- uncompressed out of line: one tag.
CREATE FUNCTION hcm_long_multirange() RETURNS nummultirange LANGUAGE sql AS $$
    SELECT range_agg(numrange(1e30 + i * 10, 1e30 + i * 10 + 5)) FROM generate_series(1, 100) i
$$;
CREATE TABLE hcm_pglz (k int, v text COMPRESSION pglz, m nummultirange COMPRESSION pglz);
CREATE TABLE hcm_lz4 (k int, v text, m nummultirange);
CREATE TABLE hcm_external (k int, v text, m nummultirange);
ALTER TABLE hcm_external ALTER COLUMN v SET STORAGE EXTERNAL;
ALTER TABLE hcm_external ALTER COLUMN m SET STORAGE EXTERNAL;
DO $$
BEGIN
    ALTER TABLE hcm_lz4 ALTER COLUMN v SET COMPRESSION lz4;
    ALTER TABLE hcm_lz4 ALTER COLUMN m SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    ALTER TABLE hcm_lz4 ALTER COLUMN v SET COMPRESSION pglz;
    ALTER TABLE hcm_lz4 ALTER COLUMN m SET COMPRESSION pglz;
END $$;
SELECT occ.enable(t, kind => 'hash', exclude => '{k}')
  FROM unnest('{hcm_pglz,hcm_lz4,hcm_external}'::regclass[]) t;
INSERT INTO hcm_pglz VALUES (1, repeat('abc', 2000), hcm_long_multirange());
INSERT INTO hcm_lz4 VALUES (1, repeat('abc', 2000), hcm_long_multirange());
INSERT INTO hcm_external VALUES (1, repeat('abc', 2000), hcm_long_multirange());
CREATE VIEW hcm_stored AS
    SELECT 'pglz' AS tbl, pg_column_compression(v) AS v_compression,
           pg_column_compression(m) AS m_compression, occ.etag(t) AS tag FROM hcm_pglz t
    UNION ALL SELECT 'lz4', pg_column_compression(v), pg_column_compression(m), occ.etag(t) FROM hcm_lz4 t
    UNION ALL SELECT 'external', pg_column_compression(v), pg_column_compression(m), occ.etag(t) FROM hcm_external t;
SELECT tbl, v_compression IS NOT NULL AS v_compressed, m_compression IS NOT NULL AS m_compressed,
       tag = (SELECT tag FROM hcm_stored WHERE tbl = 'pglz') AS same_tag_as_pglz
  FROM hcm_stored ORDER BY tbl COLLATE "C";
SELECT v_compression, m_compression FROM hcm_stored WHERE tbl = 'pglz';
-- values stored out of line: the external table's two, none of the others
SELECT tbl, hcm_toasted_values(tbl) AS out_of_line
  FROM unnest('{hcm_pglz,hcm_lz4,hcm_external}'::regclass[]) tbl;
-- the trigger agrees, whichever table the tag was read from
SELECT hcm_update('hcm_external', 1, (SELECT tag FROM hcm_stored WHERE tbl = 'lz4')) AS external_with_lz4_tag,
       hcm_update('hcm_lz4', 1, (SELECT tag FROM hcm_stored WHERE tbl = 'external')) AS lz4_with_external_tag,
       hcm_update('hcm_pglz', 1, (SELECT tag FROM hcm_stored WHERE tbl = 'external')) AS pglz_with_external_tag;
-- compressed values copied into the EXTERNAL columns stay compressed (and,
-- being small now, inline): still the same content
UPDATE hcm_external SET (v, m) = (SELECT v, m FROM hcm_pglz);
SELECT v_compression, m_compression, tag = (SELECT tag FROM hcm_stored WHERE tbl = 'pglz') AS same_tag_as_pglz,
       hcm_toasted_values('hcm_external') AS out_of_line
  FROM hcm_stored WHERE tbl = 'external';

-- ==== clean up ====
DROP VIEW hcm_stored;
DROP TABLE hcm_cases, hcm_results, hcm_oid_free, hcm_pglz, hcm_lz4, hcm_external;
DROP TYPE hcm_levelrange, hcm_span, hcm_level, hcm_filler;
DROP FUNCTION hcm_tag(regclass, int), hcm_update(regclass, int, text, text),
    hcm_compare(text, text, text), hcm_toasted_values(regclass), hcm_create_table(),
    hcm_long_multirange();
