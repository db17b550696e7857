"""psycopg2 and psycopg 3 against kubelake's PostgreSQL server (test engine).

Usage: clients_test.py TRUST_PORT SCRAM_PORT   (run by pg_clients_test)
"""
import datetime
import decimal
import io
import sys

import psycopg
import psycopg2
import psycopg2.errors

trust_port, scram_port = int(sys.argv[1]), int(sys.argv[2])
UNICODE = "h\u00e9llo w\u00f6rld \u2713 \u65e5\u672c"

# psycopg2: simple protocol, parameters interpolated by the client, typed results.
conn = psycopg2.connect(host="127.0.0.1", port=trust_port, user="py", dbname="kubelake")
cur = conn.cursor()  # not autocommit: psycopg2 sends BEGIN first
cur.execute("SELECT * FROM items WHERE id = %s", (2,))
row = cur.fetchone()
assert row[0] == 2 and row[1] == UNICODE, row
assert row[2] == decimal.Decimal("-0.05"), row[2]
assert row[5] == datetime.date(1969, 12, 31), row[5]
assert row[9] == [], row[9]
cur.execute("SELECT * FROM items")
rows = cur.fetchall()
assert len(rows) == 4 and rows[2][1] is None
assert rows[0][6] == datetime.datetime(2024, 1, 2, 3, 4, 5, 123456), rows[0][6]
assert rows[0][7] == datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc), rows[0][7]
assert bytes(rows[0][8]) == b"\x00\x01\xff"
assert rows[0][9] == ["a", "b c", None], rows[0][9]
assert rows[0][11] == {"team": "infra"}, rows[0][11]
assert [d.name for d in cur.description][:3] == ["id", "name", "price"]
try:
    cur.execute("SELECT * FROM missing")
    raise AssertionError("expected an error")
except psycopg2.errors.UndefinedTable as e:
    assert e.pgcode == "42P01"
conn.rollback()
cur.execute("SELECT %s AS greeting", (UNICODE,))
assert cur.fetchone()[0] == UNICODE
# COPY ... TO STDOUT through copy_expert.
buf = io.StringIO()
cur.copy_expert("COPY items TO STDOUT WITH (FORMAT csv, HEADER)", buf)
lines = buf.getvalue().splitlines()
assert lines[0].startswith("id,name,price,") and lines[1].startswith("1,alpha,19.99,"), lines[:2]
assert len(lines) == 5, lines
conn.close()
print("psycopg2 ok")

# psycopg 3: extended protocol with server-side parameters, text and binary results, SCRAM.
with psycopg.connect(host="127.0.0.1", port=scram_port, user="py", password="py-secret", dbname="kubelake",
                     autocommit=True) as conn:
    row = conn.execute("SELECT * FROM items WHERE id = %s", (1,)).fetchone()
    assert row[1] == "alpha" and row[2] == decimal.Decimal("19.99"), row
    with conn.cursor(binary=True) as cur:
        cur.execute("SELECT * FROM items WHERE id = %s", (4 and 9007199254740993,))
        row = cur.fetchone()
        assert row[0] == 9007199254740993, row
        assert row[2] == decimal.Decimal("123456789.01"), row[2]
        assert row[3] == 1e300 and row[4] is True, row
        assert row[5] == datetime.date(9999, 12, 31), row[5]
        assert row[9] == ["NULL", ""], row[9]
        cur.execute("SELECT * FROM items")
        rows = cur.fetchall()
        assert rows[0][6] == datetime.datetime(2024, 1, 2, 3, 4, 5, 123456), rows[0][6]
        assert rows[1][1] == UNICODE and rows[2][1] is None
        assert rows[0][8] == b"\x00\x01\xff"
    got = conn.execute("SELECT %s::int8 AS a, %s AS b, %s::date AS c", (41, UNICODE, datetime.date(2024, 2, 29))).fetchone()
    assert got == (41, UNICODE, datetime.date(2024, 2, 29)), got
    try:
        conn.execute("SELECT * FROM missing")
        raise AssertionError("expected an error")
    except psycopg.errors.UndefinedTable:
        pass
    assert conn.execute("SELECT 1").fetchone() == (1,)
    # COPY ... TO STDOUT: text rows, and binary rows parsed by psycopg's own reader.
    with conn.cursor() as cur:
        with cur.copy("COPY items TO STDOUT") as copy:
            text_rows = list(copy.rows())
        assert len(text_rows) == 4 and text_rows[1][1] == UNICODE and text_rows[2][1] is None, text_rows
        with cur.copy("COPY (SELECT * FROM items) TO STDOUT (FORMAT binary)") as copy:
            copy.set_types(["int8", "text", "numeric", "float8", "bool", "date", "timestamp", "timestamptz",
                            "bytea", "text[]", "int4", "json"])
            binary_rows = list(copy.rows())
        assert len(binary_rows) == 4, binary_rows
        assert binary_rows[0][:3] == (1, "alpha", decimal.Decimal("19.99")), binary_rows[0]
        assert binary_rows[0][8] == b"\x00\x01\xff" and binary_rows[0][9] == ["a", "b c", None], binary_rows[0]
        assert binary_rows[3][0] == 9007199254740993 and binary_rows[3][6] == datetime.datetime(9999, 12, 31, 23, 59, 59, 999999)
try:
    psycopg.connect(host="127.0.0.1", port=scram_port, user="py", password="wrong", dbname="kubelake")
    raise AssertionError("expected an authentication failure")
except psycopg.OperationalError as e:
    assert "password authentication failed" in str(e), e
print("psycopg3 ok")
