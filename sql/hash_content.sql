--
-- hash_content: what counts as the same content for the hash kind.
--
-- A row's tag is the hash of its counted columns' canonical byte images,
-- seeded with the column list (names and types).  So two tables with the
-- same column list give equal tags for equal content, and this file
-- compares tags, between rows of one table (the key column k is excluded)
-- and between tables stored differently, instead of printing them.  The
-- rule under test: values that compare equal but are stored differently
-- (1.0 and 1.00, -0 and 0) are different content, since a reader shown one
-- and a writer holding the other did not see the same row; the same value
-- stored inline, compressed or out of line is the same content; nothing
-- depends on a session setting or on an OID that a dump does not keep.  In
-- every case below the tags are equal exactly when the values print alike.
--
-- The case-insensitive collation needs ICU, which not every server has
-- (the assert build has none): the collation is created only where
-- pg_collation has ICU collations, and equality ignoring case is decided by
-- it there and by lower() elsewhere, so that the output is the same on
-- both.  The xml cases need libxml and are asserted in a DO block that
-- prints nothing, or skipped where xml input is not supported.
--
\set VERBOSITY default

-- ==== helpers ====
-- The tag of the row of tbl whose k is key.
CREATE FUNCTION hc_tag(tbl regclass, key int) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    result text;
BEGIN
    EXECUTE format('SELECT occ.etag(hc_row) FROM %s hc_row WHERE k = $1', tbl)
        INTO STRICT result USING key;
    RETURN result;
END $$;

-- Run an UPDATE of the row of tbl whose k is key stating the tag if_match:
-- 'ok' or the SQLSTATE it failed with.
CREATE FUNCTION hc_update(tbl regclass, key int, if_match text,
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

-- A NaN whose bits are not those 'NaN' reads as: the sign bit set (what
-- 'Infinity' - 'Infinity' gives on x86, and negation everywhere).
CREATE FUNCTION hc_other_nan8() RETURNS float8 LANGUAGE sql AS $$ SELECT -'NaN'::float8 $$;
CREATE FUNCTION hc_other_nan4() RETURNS float4 LANGUAGE sql AS $$ SELECT -'NaN'::float4 $$;
SELECT float8send(hc_other_nan8()) <> float8send('NaN') AS nan8_bits_differ,
       float4send(hc_other_nan4()) <> float4send('NaN') AS nan4_bits_differ,
       hc_other_nan8()::text AS prints;

-- The format: 32 lower-case hex digits in double quotes; the tag of one row
-- of a fixed column list, kept here to notice a change of the canonical
-- form or of the hash (on a little-endian server).
CREATE TABLE hc_format (id int, name text);
SELECT occ.enable('hc_format', kind => 'hash');
INSERT INTO hc_format VALUES (1, 'a');
SELECT occ.etag(f) AS etag, occ.etag(f) ~ '^"[0-9a-f]{32}"$' AS well_formed FROM hc_format f;
DROP TABLE hc_format;

-- ==== every built-in type family: pairs of values, same content or not ====
-- For each case, a table (k int, v TYPE) with k excluded holds the two
-- values as rows 1 and 2, and the result says whether they compare equal
-- (blank: the type has no = operator), print alike and have the same tag;
-- then the trigger and occ.etag must agree: row 1 updated to the second
-- value under its own tag ('ok'), then that old tag stated again, which
-- must be stale (40V01) exactly when the content changed.
CREATE DOMAIN hc_posint AS int CHECK (VALUE > 0);
CREATE DOMAIN hc_code AS text CHECK (VALUE ~ '^[A-Z]+$');
CREATE TYPE hc_mood AS ENUM ('sad', 'ok', 'happy');
CREATE TYPE hc_inner AS (a int, b text);
CREATE TYPE hc_outer AS (i hc_inner, m hc_mood, f float8);
CREATE TYPE hc_dropped AS (a int, gone text, b int);
ALTER TYPE hc_dropped DROP ATTRIBUTE gone;
CREATE ROLE regress_occ_content;

CREATE FUNCTION hc_compare(typ text, a text, b text)
RETURNS TABLE (equal bool, prints_alike bool, same_tag bool,
               update_with_tag text, old_tag_after text)
LANGUAGE plpgsql AS $$
DECLARE
    tag_a text;
BEGIN
    EXECUTE format('CREATE TABLE hc_case (k int, v %s)', typ);
    PERFORM occ.enable('hc_case', kind => 'hash', exclude => '{k}');
    EXECUTE format('INSERT INTO hc_case VALUES (1, (%s)::%s), (2, (%s)::%s)', a, typ, b, typ);
    BEGIN
        EXECUTE format('SELECT v1.v = v2.v FROM hc_case v1, hc_case v2 WHERE v1.k = 1 AND v2.k = 2')
            INTO equal;
    EXCEPTION WHEN undefined_function THEN
        equal := NULL;
    END;
    SELECT v1.v::text = v2.v::text, hc_tag('hc_case', 1) = hc_tag('hc_case', 2)
      INTO prints_alike, same_tag
      FROM hc_case v1, hc_case v2 WHERE v1.k = 1 AND v2.k = 2;
    tag_a := hc_tag('hc_case', 1);
    update_with_tag := hc_update('hc_case', 1, tag_a,
                                 format('v = (%s)::%s', b, typ));
    old_tag_after := hc_update('hc_case', 1, tag_a);
    DROP TABLE hc_case;
    RETURN NEXT;
END $$;

CREATE TABLE hc_cases (n serial, typ text, a text, b text);
INSERT INTO hc_cases (typ, a, b) VALUES
    -- integers
    ('smallint', '1', $$'+01'$$),
    ('smallint', '1', '-1'),
    ('integer', '-0', '0'),
    ('integer', '2147483647', '2147483646'),
    ('bigint', '9223372036854775807', $$' 9223372036854775807 '$$),
    ('bigint', '1', '2'),
    -- numeric: the scale is content; NaN and zero have one form
    ('numeric', '1.0', '1.00'),
    ('numeric', '0.5 + 0.5', '1.0'),
    ('numeric', '1e3', '1000'),
    ('numeric', '1000', '1000.0'),
    ('numeric', '-0.0', '0.0'),
    ('numeric', $$'NaN'$$, $$'nan'$$),
    -- floats: -0 is not 0; every NaN is one
    ('double precision', $$'-0'$$, '0'),
    ('double precision', $$'NaN'$$, $$'Infinity'::float8 - 'Infinity'::float8$$),
    ('double precision', $$'NaN'$$, 'hc_other_nan8()'),
    ('double precision', '0.1::float8 + 0.2', '0.3'),
    ('double precision', '1.5', $$'1.50'$$),
    ('real', $$'-0'$$, '0'),
    ('real', $$'NaN'$$, $$'Infinity'::float4 - 'Infinity'::float4$$),
    ('real', $$'NaN'$$, 'hc_other_nan4()'),
    ('real', '1.5', $$'1.50'$$),
    -- money
    ('money', '1.5', $$'1.50'$$),
    ('money', '1.5', '1.51'),
    -- character types
    ('text', $$'Alice'$$, $$'alice'$$),
    ('text', $$'ab' || 'c'$$, $$'abc'$$),
    ('text', $$''$$, $$' '$$),
    ('character varying(5)', $$'abc'$$, $$'abc'::text$$),
    ('character varying(5)', $$'abc'$$, $$'abc  '$$),
    ('character(5)', $$'abc'$$, $$'abc  '$$),
    ('character(5)', $$'abc'$$, $$'abd'$$),
    ('name', $$'abc'::text$$, $$'abc'$$),
    ('name', $$repeat('x', 70)$$, $$repeat('x', 63)$$),
    ('"char"', $$'abc'$$, $$'a'$$),
    ('hc_code', $$'ABC'$$, $$'AB' || 'C'$$),
    ('hc_code', $$'ABC'$$, $$'ABD'$$),
    -- bytea, bool
    ('bytea', $$'\x00ff'$$, $$decode('00FF', 'hex')$$),
    ('bytea', $$'\x00'$$, $$'\x0000'$$),
    ('boolean', 'true', $$'yes'$$),
    ('boolean', 'true', 'false'),
    -- date and time: instants, not the zone they were written in
    ('date', $$'2024-02-29'$$, $$'2024-03-01'::date - 1$$),
    ('date', $$'infinity'$$, $$'2024-01-01'$$),
    ('time without time zone', $$'12:00'$$, $$'12:00:00.000'$$),
    ('time without time zone', $$'24:00'$$, $$'00:00'$$),
    ('time with time zone', $$'12:00+01'$$, $$'12:00:00+01:00'$$),
    ('time with time zone', $$'12:00+01'$$, $$'11:00+00'$$),
    ('timestamp without time zone', $$'2024-01-01 00:00'$$, $$'2024-01-01'$$),
    ('timestamp without time zone', $$'2024-01-01'$$, $$'2024-01-01 00:00:00.000001'$$),
    ('timestamp with time zone', $$'2024-01-01 12:00+00'$$, $$'2024-01-01 13:00+01'$$),
    ('timestamp with time zone', $$'2024-07-01 12:00 Europe/Paris'$$, $$'2024-07-01 06:00 America/New_York'$$),
    ('timestamp with time zone', $$'2024-01-01 12:00 UTC'$$, $$'2024-01-01 12:00 America/New_York'$$),
    ('interval', $$'1 hour'$$, $$'60 minutes'$$),
    ('interval', $$'1 year'$$, $$'12 months'$$),
    ('interval', $$'1 day'$$, $$'24 hours'$$),
    ('interval', $$'1 month'$$, $$'30 days'$$),
    -- uuid
    ('uuid', $$'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'$$, $$'{a0eebc999c0b4ef8bb6d6bb9bd380a11}'$$),
    ('uuid', $$'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'$$, $$'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12'$$),
    -- json keeps its text; jsonb is normalized, but numbers keep their scale
    ('json', $$'{"a":1}'$$, $$'{"a": 1}'$$),
    ('json', $$json_build_object('a', 1)$$, $$'{"a" : 1}'$$),
    ('jsonb', $$'{"a":1,"b":[1,2]}'$$, $$'{"b": [1, 2], "a": 1}'$$),
    ('jsonb', $$'{"a":1,"a":2}'$$, $$jsonb_build_object('a', 2)$$),
    ('jsonb', $$'{"a":1.0}'$$, $$'{"a":1}'$$),
    -- network addresses
    ('inet', $$'10.0.0.1'$$, $$'10.0.0.1/32'$$),
    ('inet', $$'10.0.0.1/8'$$, $$'10.0.0.1'$$),
    ('inet', $$set_masklen(inet '10.1.2.3/24', 8)$$, $$'10.1.2.3/8'$$),
    ('cidr', $$'10.1'$$, $$'10.1.0.0/16'$$),
    ('cidr', $$'10.0.0.0/8'$$, $$'10.0.0.0/16'$$),
    ('macaddr', $$'08:00:2b:01:02:03'$$, $$'08002B010203'$$),
    ('macaddr', $$'08:00:2b:01:02:03'$$, $$'08:00:2b:01:02:04'$$),
    ('macaddr8', $$'08:00:2b:01:02:03'::macaddr$$, $$'08:00:2b:ff:fe:01:02:03'$$),
    ('macaddr8', $$'08:00:2b:01:02:03:04:05'$$, $$'08:00:2b:01:02:03:04:06'$$),
    -- bit strings
    ('bit(3)', $$B'101'$$, $$'101'$$),
    ('bit varying', $$substring(B'10110000' from 1 for 3)$$, $$B'101'$$),
    ('bit varying', $$B'1'$$, $$B'10'$$),
    -- geometric types: float8s, -0 is not 0, every NaN is one
    ('point', $$'(1,2)'$$, 'point(1, 2)'),
    ('point', $$'(-0,0)'$$, $$'(0,0)'$$),
    ('point', $$'(NaN,1)'$$, $$point('Infinity'::float8 - 'Infinity'::float8, 1)$$),
    ('point', $$'(NaN,1)'$$, 'point(hc_other_nan8(), 1)'),
    ('lseg', $$'[(NaN,0),(1,1)]'$$, 'lseg(point(hc_other_nan8(), 0), point(1, 1))'),
    ('box', $$'(0,0),(1,1)'$$, $$'(1,1),(0,0)'$$),
    ('box', $$'(0,0),(1,1)'$$, $$'(5,5),(6,6)'$$),
    ('box', $$'(NaN,1),(NaN,1)'$$, 'box(point(hc_other_nan8(), 1))'),
    ('line', $$'{1,-1,0}'$$, $$line(point '(0,0)', point '(1,1)')$$),
    ('line', $$'{1,-1,0}'$$, $$'{1,-1,1}'$$),
    ('circle', $$'<(0,0),1>'$$, $$circle(point '(0,0)', 1)$$),
    ('circle', $$'<(NaN,0),1>'$$, 'circle(point(hc_other_nan8(), 0), 1)'),
    ('path', $$'[(0,0),(1,1)]'$$, $$'((0,0),(1,1))'$$),
    ('path', $$'[(NaN,0),(NaN,1)]'$$, $$path '[(0,0),(0,1)]' + point(hc_other_nan8(), 0)$$),
    ('polygon', $$'((0,0),(1,1),(1,0))'$$, $$polygon(path '((0,0),(1,1),(1,0))')$$),
    ('polygon', $$'((NaN,0),(NaN,1),(NaN,0))'$$, $$polygon(path '((0,0),(0,1),(0,0))' + point(hc_other_nan8(), 0))$$),
    -- text search: a tsquery's operands are stored in the order it was built
    ('tsvector', $$'a:1 b:2'$$, $$to_tsvector('simple', 'a b')$$),
    ('tsvector', $$'a b'$$, $$'a:1 b:2'$$),
    ('tsquery', $$'a & b:*'$$, $$to_tsquery('simple', 'a') && to_tsquery('simple', 'b:*')$$),
    ('tsquery', $$'a <-> b'$$, $$tsquery_phrase('a', 'b')$$),
    ('tsquery', $$'a & b'$$, $$'b & a'$$),
    -- pg_lsn, oid, tid
    ('pg_lsn', $$'0/16B3748'$$, $$'0/016b3748'$$),
    ('pg_lsn', $$'0/16B3748'$$, $$'0/16B3749'$$),
    ('oid', '1259', $$'1259'$$),
    ('oid', '1259', '1260'),
    ('tid', $$'(0,1)'$$, $$'(0,01)'$$),
    -- arrays: dimensions and lower bounds are content; a null bitmap with no
    -- NULL in it (a slice keeps its array's) is not
    ('integer[]', $$'{1,2}'$$, 'ARRAY[1, 2]'),
    ('integer[]', $$'{1,2}'$$, $$'[0:1]={1,2}'$$),
    ('integer[]', $$'{{1,2},{3,4}}'$$, $$'{1,2,3,4}'$$),
    ('integer[]', $$'{1,NULL}'$$, $$'{NULL,1}'$$),
    ('integer[]', $$'{{1,NULL},{NULL,4}}'$$, $$ARRAY[ARRAY[1,NULL],ARRAY[NULL,4]]$$),
    ('integer[]', $$('{1,NULL,3}'::int[])[1:1]$$, $$'{1}'$$),
    ('integer[]', $$'{}'$$, $$'{NULL}'$$),
    ('text[]', $$'{a,b}'$$, $$ARRAY['a', 'b']$$),
    ('text[]', $$'{"a,b"}'$$, $$'{a,b}'$$),
    ('numeric[]', $$'{1.0}'$$, $$'{1.00}'$$),
    ('double precision[]', $$ARRAY['NaN'::float8, -0]$$, 'ARRAY[hc_other_nan8(), -0]'),
    ('double precision[]', 'ARRAY[0]', 'ARRAY[-0::float8]'),
    ('point[]', $$ARRAY['(NaN,1)'::point]$$, 'ARRAY[point(hc_other_nan8(), 1)]'),
    ('hc_posint[]', $$'{1,2}'$$, 'ARRAY[1, 2]'),
    ('hc_mood[]', $$'{sad,happy}'$$, $$ARRAY['sad', 'happy']::hc_mood[]$$),
    ('hc_mood[]', $$'{sad,happy}'$$, $$'{happy,sad}'$$),
    -- built-in ranges: canonical bounds are the same content
    ('int4range', $$'[1,3)'$$, $$'[1,2]'$$),
    ('int4range', $$'[1,3)'$$, $$'[1,3]'$$),
    ('int4range', $$'empty'$$, 'int4range(2, 2)'),
    ('int4range', $$'[,]'$$, $$'(,)'$$),
    ('numrange', $$'[1.0,2)'$$, $$'[1.00,2)'$$),
    ('daterange', $$'[2024-01-01,2024-01-31]'$$, $$'[2024-01-01,2024-02-01)'$$),
    ('tstzrange', $$'[2024-01-01 12:00+00,)'$$, $$'[2024-01-01 13:00+01,)'$$),
    -- enums, composites, domains
    ('hc_mood', $$'ok'$$, $$'ok'$$),
    ('hc_mood', $$'ok'$$, $$'happy'$$),
    ('hc_inner', $$'(1,x)'$$, $$ROW(1, 'x')$$),
    ('hc_inner', $$'(1,)'$$, $$'(1,"")'$$),
    ('hc_outer', $$'("(1,x)",ok,NaN)'$$, $$ROW(ROW(1, 'x'), 'ok', hc_other_nan8())$$),
    ('hc_outer', $$'("(1,x)",ok,0)'$$, $$'("(1,x)",ok,-0)'$$),
    ('hc_dropped', $$'(1,2)'$$, 'ROW(1, 2)'),
    ('hc_dropped', $$'(1,2)'$$, 'ROW(2, 1)'),
    ('hc_posint', '1', $$'01'$$),
    ('hc_posint', '1', '2'),
    -- reg* types: the name of the object, written any way
    ('regclass', $$'pg_class'$$, $$'pg_catalog.pg_class'$$),
    ('regclass', $$'pg_class'$$, $$'pg_type'$$),
    ('regtype', $$'int4'$$, $$'integer'$$),
    ('regtype', $$'hc_mood'$$, $$'public.hc_mood'$$),
    ('regproc', $$'now'$$, $$'pg_catalog.now'$$),
    ('regprocedure', $$'abs(int4)'$$, $$'abs(integer)'$$),
    ('regprocedure', $$'abs(int4)'$$, $$'abs(int8)'$$),
    ('regoper', $$'||/'$$, $$'pg_catalog.||/'$$),
    ('regoperator', $$'+(int4,int4)'$$, $$'+(integer,integer)'$$),
    ('regnamespace', $$'pg_catalog'$$, $$'public'$$),
    ('regrole', $$'regress_occ_content'$$, $$'"regress_occ_content"'$$),
    ('regconfig', $$'simple'$$, $$'pg_catalog.simple'$$),
    ('regdictionary', $$'simple'$$, $$'pg_catalog.simple'$$),
    ('regcollation', $$'"C"'$$, $$'pg_catalog."C"'$$),
    -- aclitem holds role OIDs and prints names
    ('aclitem', $$'regress_occ_content=r/regress_occ_content'$$,
     $$makeaclitem('regress_occ_content'::regrole, 'regress_occ_content'::regrole, 'SELECT', false)$$),
    ('aclitem', $$'regress_occ_content=r/regress_occ_content'$$, $$'regress_occ_content=w/regress_occ_content'$$);

CREATE TABLE hc_results AS
    SELECT n, typ, a, b, r.* FROM hc_cases, LATERAL hc_compare(typ, a, b) r;
SELECT * FROM hc_results ORDER BY n;

-- the rule: equal tags exactly for the values that print alike, and the
-- trigger agrees with occ.etag in every case
SELECT count(*) AS cases,
       count(*) FILTER (WHERE same_tag IS DISTINCT FROM prints_alike) AS tags_not_as_printed,
       count(*) FILTER (WHERE update_with_tag IS DISTINCT FROM 'ok') AS own_tag_refused,
       count(*) FILTER (WHERE old_tag_after IS DISTINCT FROM
                              CASE WHEN same_tag THEN 'ok' ELSE '40V01' END) AS old_tag_misjudged
  FROM hc_results;

-- ==== values that compare equal, stored differently: different content ====
-- 'Alice' and 'alice' under a case-insensitive collation: equal there,
-- different content.  (Without ICU, see the file's header.)
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_collation WHERE collprovider = 'i') THEN
        CREATE COLLATION hc_case_insensitive
            (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
    ELSE
        CREATE COLLATION hc_case_insensitive FROM "C";
    END IF;
END $$;
CREATE FUNCTION hc_equal_ignoring_case(a text, b text) RETURNS bool
LANGUAGE sql AS $$
    SELECT CASE WHEN (SELECT collisdeterministic FROM pg_collation
                       WHERE collname = 'hc_case_insensitive')
                THEN lower(a) = lower(b)
                ELSE a = b COLLATE hc_case_insensitive END
$$;
-- the collation is no part of the column list: hc_ci and hc_plain have the
-- same one, so their tags of the same text are equal
CREATE TABLE hc_ci (k int, v text COLLATE hc_case_insensitive);
CREATE TABLE hc_plain (k int, v text);
SELECT occ.enable('hc_ci', kind => 'hash', exclude => '{k}'),
       occ.enable('hc_plain', kind => 'hash', exclude => '{k}');
INSERT INTO hc_ci VALUES (1, 'Alice'), (2, 'alice');
INSERT INTO hc_plain VALUES (1, 'Alice'), (2, 'alice');
SELECT hc_equal_ignoring_case(a.v, b.v) AS equal_ignoring_case,
       hc_tag('hc_ci', 1) = hc_tag('hc_ci', 2) AS same_tag,
       hc_tag('hc_ci', 1) = hc_tag('hc_plain', 1) AS same_tag_as_default_collation
  FROM hc_ci a, hc_ci b WHERE a.k = 1 AND b.k = 2;
-- the trigger: 'alice' read, 'Alice' stored: stale
SELECT hc_update('hc_ci', 1, hc_tag('hc_ci', 2)) AS "'alice' read, 'Alice' stored",
       hc_update('hc_ci', 1, hc_tag('hc_plain', 1)) AS "'Alice' read, 'Alice' stored";

-- An array that had a NULL and was given a value there keeps a null bitmap
-- with no NULL in it: stored longer, the same content as the array written
-- out (and as what a dump restores).
CREATE TABLE hc_bitmap (k int, v int[]);
SELECT occ.enable('hc_bitmap', kind => 'hash', exclude => '{k}');
INSERT INTO hc_bitmap VALUES (1, '{1,NULL}'), (2, '{1,5}');
SELECT hc_update('hc_bitmap', 1, hc_tag('hc_bitmap', 1), 'v[2] = 5') AS set_element;
SELECT a.v = b.v AS equal, pg_column_size(a.v) > pg_column_size(b.v) AS stored_longer,
       hc_tag('hc_bitmap', 1) = hc_tag('hc_bitmap', 2) AS same_tag,
       hc_update('hc_bitmap', 1, hc_tag('hc_bitmap', 2)) AS update_with_other_rows_tag
  FROM hc_bitmap a, hc_bitmap b WHERE a.k = 1 AND b.k = 2;

-- ==== session settings: no tag depends on one ====
CREATE SCHEMA hc_elsewhere;
CREATE TABLE hc_elsewhere.hc_target (x int);
CREATE TYPE hc_elsewhere.hc_kind AS ENUM ('a', 'b');
CREATE FUNCTION hc_elsewhere.hc_fn(int) RETURNS int LANGUAGE sql AS 'SELECT $1';
CREATE TABLE hc_settings (k int, tstz timestamptz, ts timestamp, d date, tm time,
                          ttz timetz, i interval, f8 float8, f4 float4, n numeric,
                          m money, b bytea, j jsonb, js json, tr tstzrange,
                          rc regclass, rt regtype, rp regprocedure, rcl regclass,
                          rtl regtype, rn regnamespace, rr regrole, acl aclitem,
                          e hc_elsewhere.hc_kind, a float8[], q tsquery);
SELECT occ.enable('hc_settings', kind => 'hash', exclude => '{k}');
INSERT INTO hc_settings VALUES
    (1, '2024-03-10 12:34:56.789+00', '2024-03-10 12:34:56.789', '2024-03-10',
     '12:34:56.789', '12:34:56.789+05:30', '1 year 2 months 3 days 04:05:06.789',
     0.1, 0.1, 1234.5678, 12.34, '\xdeadbeef', '{"a": 0.1, "b": [1e-7, 1e7]}',
     '{"a": 0.1}', '[2024-03-10 12:00+00, 2024-03-11 12:00+00)',
     'hc_elsewhere.hc_target', 'hc_elsewhere.hc_kind', 'hc_elsewhere.hc_fn(int)',
     'pg_class', 'tsvector', 'hc_elsewhere', 'regress_occ_content',
     'regress_occ_content=arw/regress_occ_content', 'b', '{0.1,NaN,-0}',
     'café & naïve:*');
SELECT hc_tag('hc_settings', 1) AS default_settings \gset
-- temporary objects named like built-in ones
CREATE TEMP TABLE pg_class (x int);
CREATE TYPE pg_temp.tsvector AS (x int);
SELECT hc_tag('hc_settings', 1) = :'default_settings' AS same_tag_beside_temporary_objects;
DROP TABLE pg_temp.pg_class;
DROP TYPE pg_temp.tsvector;
SET TimeZone = 'Asia/Kathmandu';
SET DateStyle = 'German, DMY';
SET IntervalStyle = 'iso_8601';
SET extra_float_digits = -3;
SET bytea_output = 'escape';
SET lc_monetary = 'C';
SET quote_all_identifiers = on;
SET search_path = hc_elsewhere, public;
-- a tsquery's send form would be in the client's encoding
SET client_encoding = 'LATIN1';
-- what the session prints has changed
SELECT tstz, i, f8, b, rc, rt, rp FROM hc_settings;
SELECT hc_tag('hc_settings', 1) = :'default_settings' AS same_tag_under_other_settings,
       hc_update('hc_settings', 1, :'default_settings') AS update_with_tag_read_before;
RESET TimeZone;
RESET DateStyle;
RESET IntervalStyle;
RESET extra_float_digits;
RESET bytea_output;
RESET lc_monetary;
RESET quote_all_identifiers;
RESET search_path;
RESET client_encoding;
SELECT hc_tag('hc_settings', 1) = :'default_settings' AS same_tag_again;

-- ==== NaN: the one NaN, also inside arrays and composites ====
CREATE TABLE hc_nan (k int, f8 float8, f4 float4, a float8[], o hc_outer);
SELECT occ.enable('hc_nan', kind => 'hash', exclude => '{k}');
INSERT INTO hc_nan VALUES
    (1, 'NaN', 'NaN', '{1,NaN}', '("(1,x)",ok,NaN)'),
    (2, 'Infinity'::float8 - 'Infinity'::float8, 'Infinity'::float4 - 'Infinity'::float4,
     ARRAY[1, 'Infinity'::float8 - 'Infinity'::float8], ROW(ROW(1, 'x'), 'ok', 'Infinity'::float8 - 'Infinity'::float8)),
    (3, hc_other_nan8(), hc_other_nan4(), ARRAY[1, hc_other_nan8()], ROW(ROW(1, 'x'), 'ok', hc_other_nan8())),
    (4, 'NaN', 'NaN', '{1,NaN}', '("(1,x)",ok,Infinity)');
SELECT k, f8, f4, a, o, hc_tag('hc_nan', k) = hc_tag('hc_nan', 1) AS same_tag_as_1,
       hc_update('hc_nan', k, hc_tag('hc_nan', 1)) AS update_with_tag_of_1
  FROM hc_nan ORDER BY k;

-- ==== TOAST: the same value stored inline, compressed or out of line ====
-- Four tables with the same column list, one per storage strategy, hold
-- the same values: a short one, a compressible one of 6 kB (compressed
-- inline unless the strategy forbids compression; out of line if it forbids
-- that too), and a 64 kB one that compresses to more than a page
-- (compressed and out of line; uncompressed and out of line for EXTERNAL).
CREATE FUNCTION hc_long_value() RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(md5(i::text) || repeat('x', 32), '') FROM generate_series(1, 1000) i
$$;
-- the number of values of tbl stored out of line
CREATE FUNCTION hc_toasted_values(tbl regclass) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    result bigint;
BEGIN
    EXECUTE format('SELECT count(DISTINCT chunk_id) FROM %s',
                   (SELECT reltoastrelid::regclass FROM pg_class WHERE oid = tbl))
        INTO result;
    RETURN result;
END $$;
CREATE TABLE hc_toast_extended (k int, v text);
CREATE TABLE hc_toast_main (k int, v text);
CREATE TABLE hc_toast_external (k int, v text);
CREATE TABLE hc_toast_plain (k int, v text);
ALTER TABLE hc_toast_main ALTER COLUMN v SET STORAGE MAIN;
ALTER TABLE hc_toast_external ALTER COLUMN v SET STORAGE EXTERNAL;
ALTER TABLE hc_toast_plain ALTER COLUMN v SET STORAGE PLAIN;
SELECT occ.enable(t, kind => 'hash', exclude => '{k}')
  FROM unnest('{hc_toast_extended,hc_toast_main,hc_toast_external,hc_toast_plain}'::regclass[]) t;
INSERT INTO hc_toast_extended VALUES (1, 'short'), (2, repeat('abc', 2000)), (3, hc_long_value());
INSERT INTO hc_toast_main VALUES (1, 'short'), (2, repeat('abc', 2000)), (3, hc_long_value());
INSERT INTO hc_toast_external VALUES (1, 'short'), (2, repeat('abc', 2000)), (3, hc_long_value());
INSERT INTO hc_toast_plain VALUES (1, 'short'), (2, repeat('abc', 2000));
CREATE VIEW hc_toast AS
    SELECT 'extended' AS storage, k, v, occ.etag(t) AS tag, 'hc_toast_extended'::regclass AS tbl FROM hc_toast_extended t
    UNION ALL SELECT 'main', k, v, occ.etag(t), 'hc_toast_main' FROM hc_toast_main t
    UNION ALL SELECT 'external', k, v, occ.etag(t), 'hc_toast_external' FROM hc_toast_external t
    UNION ALL SELECT 'plain', k, v, occ.etag(t), 'hc_toast_plain' FROM hc_toast_plain t;
-- how each is stored: compressed if its stored size is below its length
SELECT storage, hc_toasted_values(tbl) AS out_of_line,
       string_agg(k || ':' || CASE WHEN pg_column_size(v) < octet_length(v)
                                   THEN 'compressed' ELSE 'not compressed' END, ', ' ORDER BY k) AS values
  FROM hc_toast GROUP BY storage, tbl ORDER BY storage;
-- one tag per value, whatever the storage
SELECT k, count(*) AS tables, count(DISTINCT tag) AS tags FROM hc_toast GROUP BY k ORDER BY k;
-- the trigger hashes the stored row (detoasting it) as occ.etag does: each
-- row updated under the tag read from the plain or the main table
SELECT storage, k, hc_update(tbl, k, (SELECT tag FROM hc_toast o
                                       WHERE o.k = t.k AND o.storage IN ('plain', 'main')
                                       ORDER BY o.storage DESC LIMIT 1)) AS update_with_tag
  FROM hc_toast t ORDER BY storage, k;
-- a row built in the query (long varlena headers) has the tag of the stored
-- one (short headers)
SELECT occ.etag(ROW(1, 'short')::hc_toast_plain) = hc_tag('hc_toast_plain', 1) AS same_tag;

-- A value out of line, then the same value compressed inline, then
-- uncompressed inline, then out of line again: one tag throughout, stated
-- by each UPDATE that moves it.
CREATE TABLE hc_moves (k int, v text);
ALTER TABLE hc_moves ALTER COLUMN v SET STORAGE EXTERNAL;
SELECT occ.enable('hc_moves', kind => 'hash', exclude => '{k}');
INSERT INTO hc_moves VALUES (1, repeat('abc', 2000));
SELECT hc_tag('hc_moves', 1) AS moves_tag \gset
SELECT hc_toasted_values('hc_moves') AS out_of_line,
       pg_column_size(v) < octet_length(v) AS compressed FROM hc_moves;
ALTER TABLE hc_moves ALTER COLUMN v SET STORAGE MAIN;
SELECT hc_update('hc_moves', 1, :'moves_tag', 'v = v || ''''') AS moved;
SELECT hc_toasted_values('hc_moves') AS out_of_line,
       pg_column_size(v) < octet_length(v) AS compressed,
       hc_tag('hc_moves', 1) = :'moves_tag' AS same_tag FROM hc_moves;
ALTER TABLE hc_moves ALTER COLUMN v SET STORAGE PLAIN;
SELECT hc_update('hc_moves', 1, :'moves_tag', 'v = v || ''''') AS moved;
SELECT hc_toasted_values('hc_moves') AS out_of_line,
       pg_column_size(v) < octet_length(v) AS compressed,
       hc_tag('hc_moves', 1) = :'moves_tag' AS same_tag FROM hc_moves;
ALTER TABLE hc_moves ALTER COLUMN v SET STORAGE EXTERNAL;
SELECT hc_update('hc_moves', 1, :'moves_tag', 'v = v || ''''') AS moved;
SELECT hc_toasted_values('hc_moves') AS out_of_line,
       pg_column_size(v) < octet_length(v) AS compressed,
       hc_tag('hc_moves', 1) = :'moves_tag' AS same_tag FROM hc_moves;
-- one character more is other content
SELECT hc_update('hc_moves', 1, :'moves_tag', 'v = v || ''x''') AS changed,
       hc_update('hc_moves', 1, :'moves_tag') AS old_tag_after;

-- A column added with a default is not stored in the rows that were there
-- (the default is kept in the catalog): the same content as a row that
-- stores it.
CREATE TABLE hc_missing (k int);
INSERT INTO hc_missing VALUES (1);
ALTER TABLE hc_missing ADD COLUMN v text DEFAULT 'filled';
INSERT INTO hc_missing VALUES (2, 'filled');
SELECT occ.enable('hc_missing', kind => 'hash', exclude => '{k}');
SELECT a.attname, a.atthasmissing FROM pg_attribute a
 WHERE a.attrelid = 'hc_missing'::regclass AND a.attname = 'v';
SELECT hc_tag('hc_missing', 1) = hc_tag('hc_missing', 2) AS same_tag,
       hc_update('hc_missing', 1, hc_tag('hc_missing', 2)) AS update_with_tag_of_2;

-- ==== forms that hold no OID: the same after the types are re-created ====
-- One row of user types (an enum, an array of it, a composite holding it,
-- a range over it and over int, a domain and an array of it) and of
-- reg* and aclitem values naming user objects; then every object dropped
-- and re-created with the same names (the enum built in another order, the
-- composite type first made with an attribute since dropped, then without
-- it), so that each has a new OID: the row written again has the same tag,
-- and an UPDATE stating the old tag succeeds.
CREATE FUNCTION hc_create_oid_free(with_dropped_attribute bool) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF with_dropped_attribute THEN
        CREATE TYPE hc_levelled AS (name text, gone int, level hc_level, levels hc_level[]);
        ALTER TYPE hc_levelled DROP ATTRIBUTE gone;
    ELSE
        CREATE TYPE hc_levelled AS (name text, level hc_level, levels hc_level[]);
    END IF;
    CREATE TYPE hc_levelrange AS RANGE (subtype = hc_level);
    CREATE TYPE hc_span AS RANGE (subtype = int4);
    CREATE DOMAIN hc_small AS int CHECK (VALUE < 100);
    CREATE FUNCTION hc_fn(hc_level) RETURNS int LANGUAGE sql AS 'SELECT 1';
    CREATE TABLE hc_referenced (x int);
    CREATE ROLE regress_occ_content_other;
    CREATE TABLE hc_oid_free (k int, l hc_level, ls hc_level[], c hc_levelled,
                              cs hc_levelled[], lr hc_levelrange, s hc_span, d hc_small,
                              ds hc_small[], rc regclass, rt regtype, rp regprocedure,
                              rr regrole, acl aclitem[]);
    PERFORM occ.enable('hc_oid_free', kind => 'hash', exclude => '{k}');
    INSERT INTO hc_oid_free VALUES
        (1, 'mid', '{high,low}', '(a,mid,"{low,NULL}")', ARRAY['(b,high,{})'::hc_levelled],
         '[low,high)', '[1,10)', 7, '{1,NULL,99}', 'hc_referenced', 'hc_levelled',
         'hc_fn(hc_level)', 'regress_occ_content_other',
         '{regress_occ_content_other=r/regress_occ_content,regress_occ_content=w/regress_occ_content_other}');
END $$;
CREATE FUNCTION hc_drop_oid_free() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DROP TABLE hc_oid_free, hc_referenced;
    DROP FUNCTION hc_fn(hc_level);
    DROP TYPE hc_levelrange, hc_span, hc_levelled, hc_level;
    DROP DOMAIN hc_small;
    DROP ROLE regress_occ_content_other;
END $$;
CREATE TYPE hc_level AS ENUM ('low', 'mid', 'high');
SELECT hc_create_oid_free(true);
SELECT hc_tag('hc_oid_free', 1) AS oid_free_tag,
       'hc_level'::regtype::oid AS level_oid,
       'regress_occ_content_other'::regrole::oid AS role_oid,
       (SELECT array_agg(oid) FROM pg_enum WHERE enumtypid = 'hc_level'::regtype) AS label_oids \gset
SELECT hc_drop_oid_free();
-- objects in between, so that nothing gets its old OID back
CREATE TYPE hc_filler AS ENUM ('x', 'y', 'z');
CREATE TYPE hc_level AS ENUM ('high');
ALTER TYPE hc_level ADD VALUE 'low' BEFORE 'high';
ALTER TYPE hc_level ADD VALUE 'mid' AFTER 'low';
SELECT hc_create_oid_free(false);
SELECT 'hc_level'::regtype::oid <> :level_oid AS new_type_oid,
       'regress_occ_content_other'::regrole::oid <> :role_oid AS new_role_oid,
       (SELECT count(*) FROM pg_enum
         WHERE enumtypid = 'hc_level'::regtype AND oid = ANY (:'label_oids'::oid[])) AS old_label_oids;
SELECT hc_tag('hc_oid_free', 1) = :'oid_free_tag' AS same_tag_after_recreate,
       hc_update('hc_oid_free', 1, :'oid_free_tag') AS update_with_old_tag;
-- and any of its values changed is other content
SELECT hc_update('hc_oid_free', 1, :'oid_free_tag', 'l = ''high''') AS changed,
       hc_update('hc_oid_free', 1, :'oid_free_tag') AS old_tag_after;
SELECT hc_drop_oid_free();
DROP TYPE hc_filler;

-- ==== NULLs in every position ====
CREATE TABLE hc_ints (k int, a int, b int);
CREATE TABLE hc_texts (k int, a text, b text);
CREATE TABLE hc_nested (k int, c hc_outer, a int[], r int4range);
SELECT occ.enable(t, kind => 'hash', exclude => '{k}')
  FROM unnest('{hc_ints,hc_texts,hc_nested}'::regclass[]) t;
INSERT INTO hc_ints VALUES (1, NULL, 1), (2, 1, NULL), (3, NULL, NULL), (4, 0, 0), (5, NULL, 0);
INSERT INTO hc_texts VALUES (1, 'ab', 'c'), (2, 'a', 'bc'), (3, '', NULL), (4, NULL, ''),
                            (5, NULL, NULL), (6, '', ''), (7, 'abc', NULL), (8, 'abc', '');
INSERT INTO hc_nested VALUES (1, NULL, NULL, NULL), (2, '(,,)', '{}', 'empty'),
                             (3, '("(,)",,)', '{NULL}', '(,)'), (4, '(,ok,)', '{NULL,NULL}', '[0,)'),
                             (5, '("(1,)",,)', '{{NULL}}', '(,0)');
-- every pair of rows of each table: all tags distinct
SELECT 'hc_ints' AS tbl, count(*) AS rows, count(DISTINCT hc_tag('hc_ints', k)) AS tags FROM hc_ints
UNION ALL
SELECT 'hc_texts', count(*), count(DISTINCT hc_tag('hc_texts', k)) FROM hc_texts
UNION ALL
SELECT 'hc_nested', count(*), count(DISTINCT hc_tag('hc_nested', k)) FROM hc_nested;
SELECT hc_tag('hc_ints', 1) <> hc_tag('hc_ints', 2) AS "(NULL,1) vs (1,NULL)",
       hc_tag('hc_texts', 1) <> hc_tag('hc_texts', 2) AS "('ab','c') vs ('a','bc')",
       hc_tag('hc_texts', 3) <> hc_tag('hc_texts', 5) AS "('',NULL) vs (NULL,NULL)",
       hc_tag('hc_nested', 1) <> hc_tag('hc_nested', 2) AS "NULL vs empty values";
-- the trigger tells them apart too
SELECT hc_update('hc_texts', 1, hc_tag('hc_texts', 2)) AS "('ab','c') read as ('a','bc')",
       hc_update('hc_texts', 3, hc_tag('hc_texts', 4)) AS "('',NULL) read as (NULL,'')",
       hc_update('hc_nested', 1, hc_tag('hc_nested', 2)) AS "NULLs read as empty values",
       hc_update('hc_nested', 2, hc_tag('hc_nested', 2)) AS "empty values as read";

-- Tags are per column list (names and types, in order; excluded and
-- dropped columns do not count): all-NULL rows, and equal values, of
-- different lists differ; of the same list, whatever the table, they are
-- equal.
CREATE TABLE hc_list_ab (a int, b int);
CREATE TABLE hc_list_ab_too (a int, b int);
CREATE TABLE hc_list_ab_dropped (a int, gone int, b int);
ALTER TABLE hc_list_ab_dropped DROP COLUMN gone;
CREATE TABLE hc_list_ba (b int, a int);
CREATE TABLE hc_list_ac (a int, c int);
CREATE TABLE hc_list_ab_text (a int, b text);
CREATE TABLE hc_list_ab_bigint (a int, b bigint);
CREATE TABLE hc_list_a (a int);
CREATE TABLE hc_list_x (x int);
CREATE TABLE hc_list_x_excluding (x int, a int, b int);
SELECT occ.enable(t, kind => 'hash')
  FROM unnest('{hc_list_ab,hc_list_ab_too,hc_list_ab_dropped,hc_list_ba,hc_list_ac,
                hc_list_ab_text,hc_list_ab_bigint,hc_list_a,hc_list_x}'::regclass[]) t;
SELECT occ.enable('hc_list_x_excluding', kind => 'hash', exclude => '{a,b}');
-- (excluding every column is refused: hc_list_x_excluding counts one)
CREATE TABLE hc_list_none (a int, b int);
SELECT occ.enable('hc_list_none', kind => 'hash', exclude => '{a,b}'); \echo :LAST_ERROR_SQLSTATE
DROP TABLE hc_list_none;
INSERT INTO hc_list_ab VALUES (NULL, NULL), (1, 2);
INSERT INTO hc_list_ab_too VALUES (NULL, NULL), (1, 2);
INSERT INTO hc_list_ab_dropped VALUES (NULL, NULL), (1, 2);
INSERT INTO hc_list_ba VALUES (NULL, NULL), (1, 2);
INSERT INTO hc_list_ac VALUES (NULL, NULL), (1, 2);
INSERT INTO hc_list_ab_text VALUES (NULL, NULL), (1, '2');
INSERT INTO hc_list_ab_bigint VALUES (NULL, NULL), (1, 2);
INSERT INTO hc_list_a VALUES (NULL), (1);
INSERT INTO hc_list_x VALUES (NULL), (1);
INSERT INTO hc_list_x_excluding VALUES (NULL, NULL, NULL), (1, 1, 2), (NULL, 1, 2);
CREATE VIEW hc_lists AS
    SELECT 'ab' AS list, a IS NULL AS all_null, occ.etag(t) AS tag FROM hc_list_ab t
    UNION ALL SELECT 'ab (another table)', a IS NULL, occ.etag(t) FROM hc_list_ab_too t
    UNION ALL SELECT 'ab (a column dropped)', a IS NULL, occ.etag(t) FROM hc_list_ab_dropped t
    UNION ALL SELECT 'ba', a IS NULL, occ.etag(t) FROM hc_list_ba t
    UNION ALL SELECT 'ac', a IS NULL, occ.etag(t) FROM hc_list_ac t
    UNION ALL SELECT 'ab with b text', a IS NULL, occ.etag(t) FROM hc_list_ab_text t
    UNION ALL SELECT 'ab with b bigint', a IS NULL, occ.etag(t) FROM hc_list_ab_bigint t
    UNION ALL SELECT 'a', a IS NULL, occ.etag(t) FROM hc_list_a t
    UNION ALL SELECT 'x', x IS NULL, occ.etag(t) FROM hc_list_x t
    UNION ALL SELECT 'x, a and b excluded', x IS NULL AND a IS NULL, occ.etag(t)
                FROM hc_list_x_excluding t WHERE x IS NOT NULL OR a IS NULL;
-- for each row, the lists whose row has the same tag
SELECT l.list, l.all_null,
       (SELECT string_agg(o.list, ', ' ORDER BY o.list COLLATE "C") FROM hc_lists o
         WHERE o.tag = l.tag AND o.list <> l.list) AS same_tag_as
  FROM hc_lists l ORDER BY l.all_null DESC, l.list COLLATE "C";
-- excluded columns do not count: (NULL, 1, 2) has the tag of (NULL, NULL, NULL)
SELECT count(DISTINCT occ.etag(t)) AS tags FROM hc_list_x_excluding t WHERE x IS NULL;

-- ==== xml, where the server has libxml ====
CREATE FUNCTION hc_xml_supported() RETURNS bool LANGUAGE plpgsql AS $$
BEGIN
    PERFORM '<a/>'::xml;
    RETURN true;
EXCEPTION WHEN feature_not_supported THEN
    RETURN false;
END $$;
DO $$
DECLARE
    r record;
BEGIN
    IF NOT hc_xml_supported() THEN
        RETURN;
    END IF;
    FOR r IN SELECT * FROM (VALUES
            ($x$'<a>1</a>'$x$, $x$xmlelement(name a, 1)$x$, true),
            ($x$'<a>1</a>'$x$, $x$'<a >1</a>'$x$, false),
            ($x$'<a b="1"/>'$x$, $x$'<a b=''1''/>'$x$, false)) c(a, b, same)
    LOOP
        ASSERT (SELECT same_tag = r.same AND prints_alike = r.same AND update_with_tag = 'ok'
                       AND old_tag_after = CASE WHEN r.same THEN 'ok' ELSE '40V01' END
                  FROM hc_compare('xml', r.a, r.b)),
            format('xml %s vs %s', r.a, r.b);
    END LOOP;
END $$;

-- ==== clean up ====
DROP VIEW hc_toast, hc_lists;
DROP TABLE hc_cases, hc_results, hc_ci, hc_plain, hc_bitmap, hc_settings, hc_nan, hc_toast_extended,
    hc_toast_main, hc_toast_external, hc_toast_plain, hc_moves, hc_missing, hc_ints,
    hc_texts, hc_nested, hc_list_ab, hc_list_ab_too, hc_list_ab_dropped, hc_list_ba, hc_list_ac,
    hc_list_ab_text, hc_list_ab_bigint, hc_list_a, hc_list_x, hc_list_x_excluding;
DROP SCHEMA hc_elsewhere CASCADE;
DROP TYPE hc_outer, hc_inner, hc_dropped, hc_mood;
DROP DOMAIN hc_posint, hc_code;
DROP COLLATION hc_case_insensitive;
DROP FUNCTION hc_tag(regclass, int), hc_update(regclass, int, text, text),
    hc_other_nan8(), hc_other_nan4(), hc_compare(text, text, text),
    hc_equal_ignoring_case(text, text), hc_long_value(), hc_toasted_values(regclass),
    hc_create_oid_free(bool), hc_drop_oid_free(), hc_xml_supported();
DROP ROLE regress_occ_content;
