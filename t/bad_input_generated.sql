--
-- t/bad_input_generated.sql: the generated batches of bad input, moved from
-- sql/bad_input.sql (whose harness, fixtures and candidate arguments they
-- use) to t/005_bad_input_generated.pl, which checks what they record: no
-- outcome outside the SQLSTATEs a case's arguments allow (fuzz.mismatch),
-- the database unchanged after each batch (fuzz.batch_unchanged), no
-- internal error.
--
CREATE TABLE fuzz.batch_unchanged (batch text PRIMARY KEY, unchanged boolean NOT NULL);

-- ===================================================================
-- occ.enable: every combination of candidate arguments
-- ===================================================================
-- The SQLSTATEs a combination may produce: the union of what each bad
-- argument causes on its own, whichever occ happens to check first; 'ok'
-- if no argument is bad.
CREATE FUNCTION fuzz.enable_allowed(t fuzz.tbl, c fuzz.col, k fuzz.kind, m fuzz.mode)
RETURNS text[] LANGUAGE sql AS $$
SELECT CASE WHEN cardinality(e) = 0 THEN '{ok}' ELSE e END
FROM (SELECT ARRAY(SELECT DISTINCT x FROM unnest(
    ARRAY[t.err, k.err, m.err]
    -- a NULL or empty column name is refused whatever the table
    || CASE WHEN c.ord IN (1, 2) THEN c.err_int ELSE '{}' END
    -- columns are looked at on a table that is not enabled yet
    || CASE WHEN t.label = 'plain table' THEN
            CASE k.label WHEN 'integer' THEN c.err_int
                         WHEN 'timestamp' THEN c.err_ts
                         ELSE c.err_int || c.err_ts END
       ELSE '{}' END
    -- an enabled table (or a partition, through its parent) refuses another
    -- column or kind; a partition refuses a mode of its own
    || CASE WHEN t.label IN ('enabled table', 'partition of enabled')
             AND c.ord NOT IN (1, 2)
             AND (c.label <> 'version (new)' OR k.label IN ('timestamp'))
            THEN '{55000}'::text[] ELSE '{}' END
    || CASE WHEN t.label = 'partition of enabled' AND m.label IN ('strict', 'lax', 'none')
            THEN '{55000}'::text[] ELSE '{}' END
    ) AS x WHERE x IS NOT NULL ORDER BY x)) AS s (e)
$$;

SELECT count(fuzz.probe('enable combos',
                        format('%s / %s / %s / %s', t.label, c.label, k.label, m.label),
                        format('SELECT occ.enable(%s, %s, %s, %s)', t.expr, c.expr, k.expr, m.expr),
                        fuzz.enable_allowed(t, c, k, m))) AS combinations
FROM fuzz.tbl t, fuzz.col c, fuzz.kind k, fuzz.mode m
WHERE t.label IN ('NULL', 'plain table', 'enabled table', 'partition of enabled')
   OR (c.core AND k.core AND m.core);

-- How often each SQLSTATE came out, and for each relation which ones.
SELECT sqlstate, count(*) FROM fuzz.outcome WHERE batch = 'enable combos'
GROUP BY sqlstate ORDER BY sqlstate;
SELECT t.label AS tbl, string_agg(DISTINCT o.sqlstate, ' ' ORDER BY o.sqlstate) AS sqlstates
FROM fuzz.outcome o JOIN fuzz.tbl t ON split_part(o.label, ' / ', 1) = t.label
WHERE o.batch = 'enable combos'
GROUP BY t.ord, t.label ORDER BY t.ord;
-- combinations whose outcome their arguments do not allow: none
SELECT label, sqlstate, allowed FROM fuzz.mismatch WHERE batch = 'enable combos' ORDER BY label;
INSERT INTO fuzz.batch_unchanged VALUES ('enable combos', fuzz.unchanged());


-- ===================================================================
-- occ.if_match: seeded random values
-- ===================================================================
-- Three generators, chosen at random for each value: tokens that the
-- parser cares about; printable ASCII with a few multibyte characters;
-- lists of entity tags of small versions, sometimes with one character
-- replaced.  The values are not printed, only how many gave which outcome.
CREATE TABLE fuzz.random_value (n int PRIMARY KEY, val text NOT NULL);
CREATE FUNCTION fuzz.make_random_values(how_many int) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    tokens text[] := ARRAY['"', '"', '"', ',', ',', ' ', E'\t', '0', '1', '2', '2', '3',
                           '9', '-', '+', 'W/', 'W', '/', '*', 'x', 'é', '€', '😀',
                           '\', '''', '.', 'e'];
    wide   text[] := ARRAY['é', '€', '😀', 'ß'];
    seps   text[] := ARRAY[',', ', ', ' ,', ',,', E',\t'];
    v      text;
    len    int;
    pos    int;
    kind   float8;
BEGIN
    FOR n IN 1 .. how_many LOOP
        v := '';
        kind := random();
        IF kind < 0.35 THEN
            len := floor(random() * 12)::int;
            FOR i IN 1 .. len LOOP
                v := v || tokens[1 + floor(random() * cardinality(tokens))::int];
            END LOOP;
        ELSIF kind < 0.65 THEN
            len := floor(random() * 40)::int;
            FOR i IN 1 .. len LOOP
                IF random() < 0.05 THEN
                    v := v || wide[1 + floor(random() * cardinality(wide))::int];
                ELSE
                    v := v || chr(32 + floor(random() * 95)::int);
                END IF;
            END LOOP;
        ELSIF kind < 0.75 THEN
            -- a plain number of 1 to 25 digits, sometimes signed
            v := (ARRAY['', '', '+', '-'])[1 + floor(random() * 4)::int]
                 || floor(random() * 3)::int
                 || left(floor(random() * 1e12)::bigint::text || floor(random() * 1e13)::bigint::text,
                         floor(random() * 25)::int);
            IF random() < 0.5 THEN v := floor(random() * 4)::int::text; END IF;
        ELSE
            len := 1 + floor(random() * 4)::int;
            FOR i IN 1 .. len LOOP
                IF i > 1 THEN
                    v := v || seps[1 + floor(random() * cardinality(seps))::int];
                END IF;
                IF random() < 0.2 THEN v := v || 'W/'; END IF;
                v := v || '"' || floor(random() * 4)::int || '"';
            END LOOP;
            IF random() < 0.2 THEN
                pos := 1 + floor(random() * length(v))::int;
                v := overlay(v PLACING tokens[1 + floor(random() * cardinality(tokens))::int]
                             FROM pos FOR 1);
            END IF;
        END IF;
        INSERT INTO fuzz.random_value VALUES (n, v);
    END LOOP;
END
$$;

-- What occ must answer, from the README's grammar: '' and white space are
-- unset; '*' alone is any row; a value starting with " or W/ is a list of
-- entity tags (etagc characters inside the quotes, separated by commas and
-- optional white space, empty elements allowed), otherwise the whole value
-- is one plain version.  Every strong tag, or the plain value, must be an
-- integer in bigint's range (22P02 otherwise); a weak tag never matches.
CREATE FUNCTION fuzz.if_match_oracle(val text, current_version numeric, strict boolean)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    tag     constant text := '(W/)?"[^\x01-\x20"\x7f]*"';
    t       text := regexp_replace(val, '^[ \t]+|[ \t]+$', '', 'g');
    m       text[];
    strong  text[] := '{}';
    x       text;
    matched boolean := false;
BEGIN
    IF t = '' THEN
        RETURN CASE WHEN strict THEN '23V01' ELSE 'ok' END;
    ELSIF t = '*' THEN
        RETURN 'ok';
    ELSIF left(t, 1) = '"' OR left(t, 2) = 'W/' THEN
        IF t !~ ('^' || tag || '[ \t]*(,[ \t,]*(' || tag || '[ \t]*)?)*$') THEN
            RETURN '22P02';
        END IF;
        FOR m IN SELECT regexp_matches(t, '(W/)?"([^"]*)"', 'g') LOOP
            IF m[1] IS NULL THEN
                strong := strong || m[2];
            END IF;
        END LOOP;
    ELSE
        strong := ARRAY[t];
    END IF;
    FOREACH x IN ARRAY strong LOOP
        IF x !~ '^[+-]?[0-9]+$'
           OR x::numeric NOT BETWEEN -9223372036854775808 AND 9223372036854775807 THEN
            RETURN '22P02';
        END IF;
        matched := matched OR x::numeric = current_version;
    END LOOP;
    RETURN CASE WHEN matched THEN 'ok' ELSE '40V01' END;
END
$$;

SELECT setseed(0.4242);
SELECT fuzz.make_random_values(2000);
SELECT count(*) AS values, count(DISTINCT val) AS distinct_values,
       max(length(val)) <= 40 AS short
FROM fuzz.random_value;

SELECT count(fuzz.probe('if_match random', format('%s / %s', r.n, w.label),
                        format('SELECT set_config(''occ.if_match'', %L, true); %s', r.val, w.sql),
                        ARRAY[fuzz.if_match_oracle(r.val, 2, w.label LIKE 'strict%')]))
       AS combinations
FROM fuzz.random_value r, fuzz.write w;
-- every outcome is one of: matched, stale, missing, malformed
SELECT count(*) FILTER (WHERE sqlstate NOT IN ('ok', '40V01', '23V01', '22P02')) AS other_outcomes
FROM fuzz.outcome WHERE batch = 'if_match random';
SELECT split_part(label, ' / ', 2) AS write, sqlstate, count(*)
FROM fuzz.outcome WHERE batch = 'if_match random'
GROUP BY 1, 2 ORDER BY 1, 2;
-- values on which occ and the README's grammar disagree: none
SELECT r.val, o.sqlstate, o.allowed
FROM fuzz.mismatch o JOIN fuzz.random_value r ON r.n = split_part(o.label, ' / ', 1)::int
WHERE o.batch = 'if_match random' ORDER BY o.label;
INSERT INTO fuzz.batch_unchanged VALUES ('if_match random', fuzz.unchanged());

