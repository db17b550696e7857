"""Python clients against kubelake's PostgreSQL server on its SQL engine.

Usage: engine_clients.py PORT   (run by pg_sql_test, which builds the warehouse:
ads_kind_count, dwd_objects, ... in schema kubelake; other.notes and the view
other.expensive)

psycopg2 (simple protocol, client-side parameters), psycopg 3 (extended
protocol, server-side parameters, binary results, TypeInfo), SQLAlchemy's
reflection, and the catalog queries Grafana's PostgreSQL data source,
Metabase's PostgreSQL driver and pgjdbc's DatabaseMetaData send.
"""
import datetime
import decimal
import sys

import psycopg
import psycopg2
import psycopg2.errors
from psycopg.types import TypeInfo
from sqlalchemy import MetaData, Table, create_engine, inspect, select

port = int(sys.argv[1])
UNICODE = "h\u00e9llo w\u00f6rld \u2713 \u65e5\u672c"


def check(cond, what):
    if not cond:
        raise AssertionError(what)


# ---- psycopg2: BEGIN first (not autocommit), parameters interpolated by the client ----
conn = psycopg2.connect(host="127.0.0.1", port=port, user="py", dbname="kubelake")
cur = conn.cursor()
cur.execute("SELECT name, namespace, deleted, rv FROM dwd_objects WHERE kind = %s ORDER BY rv", ("Pod",))
rows = cur.fetchall()
check(rows == [(UNICODE, "team-a", False, 10), ("plain", None, True, 11)], rows)
cur.execute("SELECT live_count FROM ads_kind_count WHERE cluster = %s AND kind = %s", ("prod-2", "Node"))
check(cur.fetchone() == (None,), "NULL count")
cur.execute("SELECT %s::text || ' ✓', %s + 1, %s::date", ("naïve", 41, datetime.date(2024, 2, 29)))
check(cur.fetchone() == ("naïve ✓", 42, datetime.date(2024, 2, 29)), "literals")
cur.execute("SELECT body, price, at FROM other.notes WHERE id = %s", (1,))
check(cur.fetchone() == ("first", decimal.Decimal("1.50"), datetime.datetime(2024, 1, 2, 3, 4, 5, 678000)), "notes")
try:
    cur.execute("SELECT * FROM missing_table")
    raise AssertionError("expected an error")
except psycopg2.errors.UndefinedTable:
    pass
conn.rollback()
conn.close()
print("psycopg2 ok")

# ---- psycopg 3: extended protocol, server-side parameters (types inferred by Describe) ----
with psycopg.connect(host="127.0.0.1", port=port, user="py", dbname="kubelake", autocommit=True) as c:
    rows = c.execute("SELECT cluster, live_count FROM ads_kind_count WHERE kind = %s AND live_count > %s ORDER BY 1",
                     ("Pod", 100)).fetchall()
    check(rows == [("prod-1", 120)], rows)
    check(c.execute("SELECT count(*) FROM ads_kind_count WHERE kind = ANY(%s)", (["Pod", "Node"],)).fetchone() == (4,),
          "ANY(array parameter)")
    with c.cursor(binary=True) as bc:
        bc.execute("SELECT name, rv, deleted, event_time FROM dwd_objects WHERE cluster = %s ORDER BY rv", ("prod-1",))
        rows = bc.fetchall()
        check(rows[0] == (UNICODE, 10, False, 1700000000000), rows)
        check(rows[1][0] == "plain" and rows[1][2] is True, rows)
        bc.execute("SELECT price, at FROM other.notes")
        check(bc.fetchone() == (decimal.Decimal("1.50"), datetime.datetime(2024, 1, 2, 3, 4, 5, 678000)), "binary")
    info = TypeInfo.fetch(c, "int4")
    check(info is not None and info.oid == 23 and info.array_oid == 1007, info)
    try:
        c.execute("SELECT nope FROM dwd_objects")
        raise AssertionError("expected an error")
    except psycopg.errors.UndefinedColumn as e:
        check(e.diag.statement_position == "8", e.diag.statement_position)
    try:
        c.execute("DROP TABLE ads_kind_count")
        raise AssertionError("expected a read-only refusal")
    except psycopg.errors.ReadOnlySqlTransaction:
        pass
    check(c.execute("SELECT 1").fetchone() == (1,), "after errors")
print("psycopg3 ok")

# ---- SQLAlchemy reflection (psycopg2 dialect) ----
engine = create_engine(f"postgresql+psycopg2://py@127.0.0.1:{port}/kubelake")
insp = inspect(engine)
schemas = insp.get_schema_names()
check("kubelake" in schemas and "other" in schemas, schemas)
tables = insp.get_table_names()
check("ads_kind_count" in tables and "dwd_objects" in tables and "notes" not in tables, tables)
check(insp.get_table_names(schema="other") == ["notes"], insp.get_table_names(schema="other"))
check(insp.get_view_names(schema="other") == ["expensive"], insp.get_view_names(schema="other"))
cols = insp.get_columns("notes", schema="other")
check([c["name"] for c in cols] == ["id", "body", "price", "at"], cols)
check(str(cols[1]["type"]) == "VARCHAR(200)" and str(cols[2]["type"]) == "NUMERIC(10, 2)", cols)
check(cols[0]["nullable"] is False and cols[0]["comment"] == "the id", cols[0])
check(insp.get_pk_constraint("ads_kind_count") == {"constrained_columns": ["cluster", "kind"],
                                                    "name": "ads_kind_count_pkey"}, insp.get_pk_constraint("ads_kind_count"))
check(insp.get_foreign_keys("ads_kind_count") == [], "no foreign keys")
check(insp.get_indexes("ads_kind_count") == [], "the primary key is no secondary index")
check(insp.get_table_comment("notes", schema="other") == {"text": "free text"}, "comment")
check(insp.has_table("dwd_objects") and not insp.has_table("nope"), "has_table")
meta = MetaData()
ads = Table("ads_kind_count", meta, autoload_with=engine)
check([c.name for c in ads.primary_key.columns] == ["cluster", "kind"], ads.primary_key)
with engine.connect() as c:
    rows = c.execute(select(ads).where(ads.c.kind == "Pod").order_by(ads.c.cluster)).fetchall()
    check(rows == [("prod-1", "Pod", 120), ("prod-2", "Pod", 80)], rows)
print("sqlalchemy ok")

# ---- catalog queries of Grafana, Metabase and pgjdbc, as they send them ----
c = psycopg.connect(host="127.0.0.1", port=port, user="grafana", dbname="kubelake", autocommit=True)
SCHEMA_CONSTRAINT = """
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          )"""
check(c.execute("SELECT 1").fetchone() == (1,), "Grafana's health check")
check(c.execute("SELECT current_setting('server_version_num')::int/100 as version").fetchone() == (1500,), "version")
check(c.execute("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'").fetchall() == [], "timescaledb")
names = [r[0] for r in c.execute("""SELECT schema_name AS "name" FROM information_schema.schemata
    WHERE schema_name NOT IN ('information_schema', 'pg_catalog', 'pg_toast', '_timescaledb_cache',
                              '_timescaledb_catalog', '_timescaledb_internal', '_timescaledb_config',
                              'timescaledb_information', 'timescaledb_experimental')
    ORDER BY schema_name""").fetchall()]
check(names == ["kubelake", "other", "public"], names)
tables = [r[0] for r in c.execute(f"""SELECT
    CASE WHEN {SCHEMA_CONSTRAINT}
      THEN quote_ident(table_name)
      ELSE quote_ident(table_schema) || '.' || quote_ident(table_name)
    END AS "table"
    FROM information_schema.tables
    WHERE quote_ident(table_schema) NOT IN ('information_schema', 'pg_catalog', '_timescaledb_cache',
                             '_timescaledb_catalog', '_timescaledb_internal', '_timescaledb_config',
                             'timescaledb_information', 'timescaledb_experimental')
    ORDER BY CASE WHEN {SCHEMA_CONSTRAINT} THEN 0 ELSE 1 END, 1""").fetchall()]
check(tables[0] == "ads_kind_count" and "other.notes" in tables and "other.expensive" in tables, tables)
for table in ["ads_kind_count", "other.notes"]:
    columns = c.execute(f"""SELECT quote_ident(column_name) AS "column", data_type AS "type"
    FROM information_schema.columns
    WHERE
      CASE WHEN array_length(parse_ident('{table}'),1) = 2
        THEN quote_ident(table_schema) = (parse_ident('{table}'))[1]
          AND quote_ident(table_name) = (parse_ident('{table}'))[2]
        ELSE quote_ident(table_name) = '{table}'
          AND {SCHEMA_CONSTRAINT}
      END""").fetchall()
    want = ([("cluster", "text"), ("kind", "text"), ("live_count", "bigint")] if table == "ads_kind_count" else
            [("id", "bigint"), ("body", "character varying"), ("price", "numeric"),
             ("at", "timestamp without time zone")])
    check(columns == want, columns)
print("grafana ok")

rows = c.execute("""SELECT "n"."nspname" AS "schema", "c"."relname" AS "name", CASE "c"."relkind" WHEN 'r' THEN 'TABLE' WHEN 'p' THEN 'PARTITIONED TABLE' WHEN 'v' THEN 'VIEW' WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE NULL END AS "type", "d"."description" AS "description", "stat"."n_live_tup" AS "estimated_row_count" FROM "pg_catalog"."pg_class" AS "c" INNER JOIN "pg_catalog"."pg_namespace" AS "n" ON "c"."relnamespace" = "n"."oid" LEFT JOIN "pg_catalog"."pg_description" AS "d" ON ("c"."oid" = "d"."objoid") AND ("d"."objsubid" = 0) AND ("d"."classoid" = 'pg_class'::regclass) LEFT JOIN "pg_stat_user_tables" AS "stat" ON ("n"."nspname" = "stat"."schemaname") AND ("c"."relname" = "stat"."relname") WHERE ("c"."relnamespace" = "n"."oid") AND ("n"."nspname" !~ '^pg_') AND ("n"."nspname" <> 'information_schema') AND c.relkind in ('r', 'p', 'v', 'f', 'm') AND ("n"."nspname" IN ('other')) ORDER BY "type" ASC, "schema" ASC, "name" ASC""").fetchall()
check(rows == [("other", "notes", "TABLE", "free text", None), ("other", "expensive", "VIEW", None, None)], rows)
privileges = c.execute("""with table_privileges as (
 select
   NULL as role,
   t.schemaname as schema,
   t.objectname as table,
   pg_catalog.has_table_privilege(current_user, '"' || t.schemaname || '"' || '.' || '"' || t.objectname || '"',  'UPDATE') as update,
   pg_catalog.has_table_privilege(current_user, '"' || t.schemaname || '"' || '.' || '"' || t.objectname || '"',  'SELECT') as select,
   pg_catalog.has_table_privilege(current_user, '"' || t.schemaname || '"' || '.' || '"' || t.objectname || '"',  'INSERT') as insert,
   pg_catalog.has_table_privilege(current_user, '"' || t.schemaname || '"' || '.' || '"' || t.objectname || '"',  'DELETE') as delete
 from (
   select schemaname, tablename as objectname from pg_catalog.pg_tables
   union
   select schemaname, viewname as objectname from pg_catalog.pg_views
   union
   select schemaname, matviewname as objectname from pg_catalog.pg_matviews
 ) t
 where t.schemaname !~ '^pg_'
   and t.schemaname <> 'information_schema'
   and pg_catalog.has_schema_privilege(current_user, t.schemaname, 'USAGE')
)
select t.*
from table_privileges t""").fetchall()
check((None, "other", "notes", False, True, False, False) in privileges, privileges)
fields = c.execute("""SELECT "c"."column_name" AS "name", CASE WHEN "c"."udt_schema" IN ('public', 'pg_catalog') THEN FORMAT('%s', "c"."udt_name") ELSE FORMAT('"%s"."%s"', "c"."udt_schema", "c"."udt_name") END AS "database-type", "c"."ordinal_position" - 1 AS "database-position", "c"."table_schema" AS "table-schema", "c"."table_name" AS "table-name", "pk"."column_name" IS NOT NULL AS "pk?", COL_DESCRIPTION(CAST(CAST(FORMAT('%I.%I', CAST("c"."table_schema" AS TEXT), CAST("c"."table_name" AS TEXT)) AS REGCLASS) AS OID), "c"."ordinal_position") AS "field-comment", (("column_default" IS NULL) OR (LOWER("column_default") = 'null')) AND ("is_nullable" = 'NO') AND NOT ((("column_default" IS NOT NULL) AND ("column_default" LIKE '%nextval(%')) OR ("is_identity" <> 'NO')) AS "database-required", (("column_default" IS NOT NULL) AND ("column_default" LIKE '%nextval(%')) OR ("is_identity" <> 'NO') AS "database-is-auto-increment" FROM "information_schema"."columns" AS "c" LEFT JOIN (SELECT "tc"."table_schema", "tc"."table_name", "kc"."column_name" FROM "information_schema"."table_constraints" AS "tc" INNER JOIN "information_schema"."key_column_usage" AS "kc" ON ("tc"."constraint_name" = "kc"."constraint_name") AND ("tc"."table_schema" = "kc"."table_schema") AND ("tc"."table_name" = "kc"."table_name") WHERE "tc"."constraint_type" = 'PRIMARY KEY') AS "pk" ON ("c"."table_schema" = "pk"."table_schema") AND ("c"."table_name" = "pk"."table_name") AND ("c"."column_name" = "pk"."column_name") WHERE c.table_schema !~ '^information_schema|catalog_history|pg_' AND ("c"."table_schema" IN ('other')) AND ("c"."table_name" IN ('notes')) ORDER BY "table-schema" ASC, "table-name" ASC, "database-position" ASC""").fetchall()
check(fields[0] == ("id", "int8", 0, "other", "notes", True, "the id", True, False), fields[0])
check(fields[1][:6] == ("body", "varchar", 1, "other", "notes", False), fields[1])
check(c.execute('SELECT TRUE AS "_" FROM "other"."notes" WHERE 1 <> 1 LIMIT 0').fetchall() == [], "read check")
check(c.execute("show timezone;").fetchone() == ("UTC",), "timezone")
check(c.execute("SELECT nspname, typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
                "WHERE t.oid IN (SELECT DISTINCT enumtypid FROM pg_enum e)").fetchall() == [], "enums")
print("metabase ok")

# pgjdbc: connection set-up, TypeInfoCache, getTables, getColumns, getPrimaryKeys.
c.execute("SET extra_float_digits = 3")
c.execute("SET application_name = 'PostgreSQL JDBC Driver'")
types = c.execute("SELECT t.typname,t.oid FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON (t.typnamespace = n.oid)  WHERE n.nspname  != 'pg_toast' AND  (t.typrelid = 0 OR (SELECT c.relkind = 'c' FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid))").fetchall()
check(("int8", 20) in types and ("_text", 1009) in types, types[:5])
check(c.execute("SELECT n.nspname = ANY(current_schemas(true)), n.nspname, t.typname FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON t.typnamespace = n.oid WHERE t.oid = %s", (1043,)).fetchone() == (True, "pg_catalog", "varchar"), "type lookup")
tables = c.execute("""SELECT NULL AS TABLE_CAT, n.nspname AS TABLE_SCHEM, c.relname AS TABLE_NAME,  CASE n.nspname ~ '^pg_' OR n.nspname = 'information_schema'  WHEN true THEN CASE  WHEN n.nspname = 'pg_catalog' OR n.nspname = 'information_schema' THEN CASE c.relkind   WHEN 'r' THEN 'SYSTEM TABLE'   WHEN 'v' THEN 'SYSTEM VIEW'   WHEN 'i' THEN 'SYSTEM INDEX'   ELSE NULL   END  WHEN n.nspname = 'pg_toast' THEN CASE c.relkind   WHEN 'r' THEN 'SYSTEM TOAST TABLE'   WHEN 'i' THEN 'SYSTEM TOAST INDEX'   ELSE NULL   END  ELSE CASE c.relkind   WHEN 'r' THEN 'TEMPORARY TABLE'   WHEN 'p' THEN 'TEMPORARY TABLE'   WHEN 'i' THEN 'TEMPORARY INDEX'   WHEN 'S' THEN 'TEMPORARY SEQUENCE'   WHEN 'v' THEN 'TEMPORARY VIEW'   ELSE NULL   END  END  WHEN false THEN CASE c.relkind  WHEN 'r' THEN 'TABLE'  WHEN 'p' THEN 'PARTITIONED TABLE'  WHEN 'i' THEN 'INDEX'  WHEN 'S' THEN 'SEQUENCE'  WHEN 'v' THEN 'VIEW'  WHEN 'c' THEN 'TYPE'  WHEN 'f' THEN 'FOREIGN TABLE'  WHEN 'm' THEN 'MATERIALIZED VIEW'  ELSE NULL  END  ELSE NULL  END  AS TABLE_TYPE, d.description AS REMARKS,  '' as TYPE_CAT, '' as TYPE_SCHEM, '' as TYPE_NAME, '' AS SELF_REFERENCING_COL_NAME, '' AS REF_GENERATION  FROM pg_catalog.pg_namespace n, pg_catalog.pg_class c  LEFT JOIN pg_catalog.pg_description d ON (c.oid = d.objoid AND d.objsubid = 0  and d.classoid = 'pg_class'::regclass)  WHERE c.relnamespace = n.oid  AND n.nspname LIKE 'other' AND c.relname LIKE '%' AND (false  OR ( c.relkind = 'r' AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' )  OR ( c.relkind = 'v' AND n.nspname <> 'pg_catalog' AND n.nspname <> 'information_schema' ) )  ORDER BY TABLE_TYPE,TABLE_SCHEM,TABLE_NAME""").fetchall()
check([(t[1], t[2], t[3], t[4]) for t in tables] == [("other", "notes", "TABLE", "free text"), ("other", "expensive", "VIEW", None)], tables)
columns = c.execute("""SELECT * FROM (SELECT n.nspname,c.relname,a.attname,a.atttypid,a.attnotnull OR (t.typtype = 'd' AND t.typnotnull) AS attnotnull,a.atttypmod,a.attlen,t.typtypmod,row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum) AS attnum, nullif(a.attidentity, '') as attidentity,nullif(a.attgenerated, '') as attgenerated,pg_catalog.pg_get_expr(def.adbin, def.adrelid) AS adsrc,dsc.description,t.typbasetype,t.typtype  FROM pg_catalog.pg_namespace n  JOIN pg_catalog.pg_class c ON (c.relnamespace = n.oid)  JOIN pg_catalog.pg_attribute a ON (a.attrelid=c.oid)  JOIN pg_catalog.pg_type t ON (a.atttypid = t.oid)  LEFT JOIN pg_catalog.pg_attrdef def ON (a.attrelid=def.adrelid AND a.attnum = def.adnum)  LEFT JOIN pg_catalog.pg_description dsc ON (c.oid=dsc.objoid AND a.attnum = dsc.objsubid)  LEFT JOIN pg_catalog.pg_class dc ON (dc.oid=dsc.classoid AND dc.relname='pg_class')  LEFT JOIN pg_catalog.pg_namespace dn ON (dc.relnamespace=dn.oid AND dn.nspname='pg_catalog')  WHERE c.relkind in ('r','p','v','f','m') and a.attnum > 0 AND NOT a.attisdropped  AND n.nspname LIKE 'other' AND c.relname LIKE 'notes') c WHERE true  ORDER BY nspname,c.relname,attnum""").fetchall()
check([(r[2], r[3], r[4], r[5], r[8], r[12]) for r in columns] ==
      [("id", 20, True, -1, 1, "the id"), ("body", 1043, False, 204, 2, None), ("price", 1700, False, 655366, 3, None),
       ("at", 1114, False, 3, 4, None)], columns)
keys = c.execute("""SELECT result.TABLE_CAT, result.TABLE_SCHEM, result.TABLE_NAME, result.COLUMN_NAME, result.KEY_SEQ, result.PK_NAME FROM (SELECT NULL AS TABLE_CAT, n.nspname AS TABLE_SCHEM,   ct.relname AS TABLE_NAME, a.attname AS COLUMN_NAME,   (information_schema._pg_expandarray(i.indkey)).n AS KEY_SEQ, ci.relname AS PK_NAME,   information_schema._pg_expandarray(i.indkey) AS KEYS, a.attnum AS A_ATTNUM FROM pg_catalog.pg_class ct   JOIN pg_catalog.pg_attribute a ON (ct.oid = a.attrelid)   JOIN pg_catalog.pg_namespace n ON (ct.relnamespace = n.oid)   JOIN pg_catalog.pg_index i ON ( a.attrelid = i.indrelid)   JOIN pg_catalog.pg_class ci ON (ci.oid = i.indexrelid) WHERE true  AND n.nspname = E'kubelake' AND ct.relname = E'ads_kind_count' AND i.indisprimary  ) result where  result.A_ATTNUM = (result.KEYS).x  ORDER BY result.table_name, result.pk_name, result.key_seq""").fetchall()
check(keys == [(None, "kubelake", "ads_kind_count", "cluster", 1, "ads_kind_count_pkey"),
               (None, "kubelake", "ads_kind_count", "kind", 2, "ads_kind_count_pkey")], keys)
print("pgjdbc ok")
