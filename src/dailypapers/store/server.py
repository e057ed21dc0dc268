"""What a database server (PostgreSQL) needs that an SQLite file does not: connection settings, and the
lock that makes its writers take turns as SQLite's do."""

from __future__ import annotations

# Every writer transaction takes this transaction-scoped advisory lock first (the number is arbitrary,
# "dailypapers" in letters): writes from every worker of every host run one at a time, as SQLite runs
# them, so that the read-then-write logic of store/ holds on PostgreSQL unchanged. Reads never wait for it.
WRITER_LOCK = "SELECT pg_advisory_xact_lock(4470617065727301)"


def server_options(timeout: float) -> dict:
    """create_engine options for a PostgreSQL URL (psycopg 3).

    A host that loses its database must answer 503 within about `timeout`, never hang: libpq gives up
    connecting after `connect_timeout`, and on a connection whose packets go unacknowledged after
    `tcp_user_timeout`; a lock is waited for at most `lock_timeout`, a free pooled connection at most
    `pool_timeout`. No `pool_pre_ping`: on a lost network the ping itself waits `timeout` before the
    reconnection does. A connection that turns out dead fails its request (503), and SQLAlchemy then
    discards the whole pool, so a restarted server costs one failed request per worker.

    The server side is told the same (the `options`): a host that vanishes in the middle of a write
    transaction, holding the writers' lock, is noticed by its silence (TCP keepalives, user timeout) or
    its idleness, and its transaction rolled back, so the other hosts wait for it only about as long."""
    seconds = max(1, round(timeout))
    server_side = {
        "lock_timeout": seconds * 1000,
        "idle_in_transaction_session_timeout": seconds * 2000,
        "tcp_keepalives_idle": seconds,
        "tcp_keepalives_interval": 1,
        "tcp_keepalives_count": 3,
        "tcp_user_timeout": seconds * 1000,
    }
    return {
        "pool_timeout": timeout,
        "connect_args": {
            "connect_timeout": seconds,
            "tcp_user_timeout": seconds * 1000,
            "keepalives": 1,
            "keepalives_idle": seconds,
            "keepalives_interval": 1,
            "keepalives_count": 3,
            "options": " ".join(f"-c {name}={value}" for name, value in server_side.items()),
            "application_name": "dailypapers",
        },
    }
