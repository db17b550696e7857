SELECT a::text, s ~ '^x', s !~* 'X', E'a\tb', $$dollar's$$, 1 = ANY(arr), ARRAY(SELECT a FROM t t2 WHERE t2.a < t.a)
FROM t WHERE s COLLATE pg_catalog.default OPERATOR(pg_catalog.~) '^(x)$' ORDER BY 1 NULLS FIRST LIMIT ALL;
SELECT unnest(arr) v, generate_subscripts(arr, 1) i, (SELECT count(*) FROM t t3 WHERE t3.a = t.a) FROM t;
SELECT * FROM generate_series(1, 5) g, string_to_array('a,b', ',') s WHERE s[g] IS NOT NULL;
SELECT x FROM (SELECT 'p.' || u AS x FROM unnest('{p,q}'::text[]) u) z GROUP BY 1;
SELECT interval '2 days 3 hours' + ts, $1::int + $2, quote_ident('A'), format('%I', s) FROM t;
