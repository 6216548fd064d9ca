"""Where the state lives: PostgreSQL (or an embedded SQLite file) and its connection pool,
and Redis (or a local-memory stand-in) for the cache. The channel layer is in realtime.py,
the Celery broker in celery.py."""

from config.settings.base import VAR_DIR, env

# --- Database -------------------------------------------------------------------------

DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'clinic.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite serialises writers; wait for the lock instead of failing at once, and take
    # the write lock at BEGIN so a read-then-write transaction cannot be overtaken.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL;",
    }
IS_POSTGRES = DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql")
# PostgreSQL connections come from one pool per process (psycopg_pool, through Django):
# the ASGI server runs every request and every websocket's queries in a thread of its own,
# and a connection per thread made 100 concurrent requests exhaust max_connections (503s)
# while each new connection cost a few milliseconds. A request waits up to
# DB_POOL_TIMEOUT_SECONDS for a free connection before it is answered 503. Size it so that
# web processes x DB_POOL_MAX_SIZE + workers + beat + relay stays under max_connections
# (README, "Scaling out"); 0 turns the pool off (a connection per thread, CONN_MAX_AGE).
DB_POOL_MAX_SIZE = env.int("DB_POOL_MAX_SIZE", default=20)
# Behind PgBouncer in transaction mode a server-side cursor would not survive (README).
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env.bool("DB_DISABLE_SERVER_SIDE_CURSORS", default=False)
# Parameters bound by PostgreSQL (not quoted into the SQL by psycopg), and a statement a
# connection has run 5 times prepared: PostgreSQL then plans it once per connection instead of
# on every run. Unprepared, planning was ~1.3 ms of PostgreSQL's CPU per booking; prepared,
# bookings/s rose ~13 % (docs/benchmarks.md, "Session 10"). Django leaves both off for the
# sake of connection poolers: behind PgBouncer in transaction mode, prepared statements need
# PgBouncer 1.21+ with max_prepared_statements, or DB_PREPARED_STATEMENTS=false.
if IS_POSTGRES and env.bool("DB_PREPARED_STATEMENTS", default=True):
    DATABASES["default"].setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=5)
if IS_POSTGRES:
    # Django's backend with two changes (core/postgresql): a pooled connection outlives a
    # PostgreSQL restart as a dead socket, and unchecked it is handed to the next request (a
    # 503 for each, with the database back; tests/faults), so the pool checks each one it
    # hands out (an empty query, ~20 us) and, on a dead one, all the others at once (Django's
    # own check cannot be swapped); and a bulk insert of a few rows is written as VALUES.
    DATABASES["default"]["ENGINE"] = "core.postgresql"
if IS_POSTGRES and DB_POOL_MAX_SIZE > 0:
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": min(env.int("DB_POOL_MIN_SIZE", default=2), DB_POOL_MAX_SIZE),
        "max_size": DB_POOL_MAX_SIZE,
        "timeout": env.float("DB_POOL_TIMEOUT_SECONDS", default=30.0),
        # While PostgreSQL is unreachable, requests are refused (503) at once instead of
        # waiting the timeout above, and one request in this many seconds tries the pool
        # again (core/postgresql/pool.py).
        "probe_interval": env.float("DB_PROBE_INTERVAL_SECONDS", default=1.0),
    }
# Threads per web process serving REST requests (core.asgi): more requests than threads wait
# in line, not for a connection, so keep it at or under DB_POOL_MAX_SIZE.
HTTP_THREADS = env.int("HTTP_THREADS", default=16)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# How long a booking waits for a contended slot or patient row (PostgreSQL lock_timeout)
# before answering 409.
SCHEDULING_LOCK_TIMEOUT_MS = env.int("SCHEDULING_LOCK_TIMEOUT_MS", default=3000)

# --- Redis: the cache (rate-limit counters) ----------------------------------------------

REDIS_URL = env.str("REDIS_URL", default="")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "clinic",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
