"""Plain INSERTs of many rows on PostgreSQL: COPY, which psycopg 3 streams as one command.

SQLite keeps executemany (store/__init__.py `_executemany`): its driver runs in-process and has no
faster path. On PostgreSQL psycopg's executemany pipelines the statements, yet COPY was clearly faster
(2 cores, durable server; bench/import_bench.py's three files): replaying the arXiv file's 74,728 paper
INSERTs (42 transactions) took 3.7-4.1 s with COPY against 7.2-11.7 s with executemany, and the whole
import 15.4-16.6 s against 20.9-21.4 s. COPY's binary format did no better than text (3.4-4.3 s).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def copy_rows(conn, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> None:
    """Insert `rows` (tuples of values for `columns`, JSON already text) into `table`, in the
    transaction of the SQLAlchemy connection `conn` (so after its writer lock)."""
    quote = conn.dialect.identifier_preparer.quote
    sql = f"COPY {quote(table)} ({', '.join(map(quote, columns))}) FROM STDIN"
    with conn.connection.driver_connection.cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)
