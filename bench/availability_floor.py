"""The floor for availability reads: the project's SQL and body with no framework at all.

A bare ASGI app (no Django, no DRF, no ORM) answers
`GET /api/doctors/<id>/availability/?from=&to=` (or `?date=`) with the same JSON body as
the project, built from the same SQL: the statements below are the ones the project runs
for that request, captured with Django's `CaptureQueriesContext` and written with
placeholders. `make bench` (bench/floors.py) serves it under the same server as the
project (daphne by default, `--servers`), checks once that both answer the same body, then times both with
the same client, request for request.

What it does per request, as a sane bare app would:

- It authenticates: it runs the project's token lookup (the one query of the Bearer
  token, with the user and their patient/doctor profiles), because the answer depends on
  the caller (`bookable`/`reason`, held slots hidden from everyone but their holder,
  unapproved doctors visible to staff) and that query is a third of the request's SQL;
  leaving it out would make the floor cheaper by work the project cannot skip. It checks
  nothing else (no throttles, no sessions, no CORS, no audit context, no logging).
- It reads the two clinic settings (time zone, minimum notice) with the project's queries
  and caches them for the same 5 s (`clinic.registry`), then whether the caller may see
  the doctor, then the slots with their live-hold flag.
- Its database work runs in one thread hop per request (the loop's default executor) on
  a psycopg connection from a `psycopg_pool.ConnectionPool` sized as the project's (20),
  checked at each checkout as the project's pool checks them (`check_connection`, an
  empty query), autocommit, session time zone UTC like Django's. Automatic prepared statements are off
  (`prepare_threshold=None`): Django prepares nothing, so PostgreSQL plans the same
  statements the same way for both and the ratio is the framework's, not the planner's.
- It encodes with the stdlib `json`, compact separators and `ensure_ascii=False` (DRF's
  `JSONRenderer` defaults), so the bodies are byte for byte the project's.

    FLOOR_DATABASE_URL=postgres://... daphne -b 127.0.0.1 -p 8701 availability_floor:app
    (from bench/; `make bench` starts it itself)
"""

import asyncio
import hashlib
import json
import os
import re
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from psycopg_pool import ConnectionPool

DATABASE_URL = os.environ.get("FLOOR_DATABASE_URL") or os.environ.get("DATABASE_URL", "")
PATH = re.compile(r"^/api/doctors/(\d+)/availability/$")
MAX_DAYS = 31
SETTINGS_CACHE_SECONDS = 5.0  # as clinic.registry._CACHE_SECONDS
SETTING_DEFAULTS = {"timezone": "UTC", "min_notice_minutes": 60}  # as clinic/clock.py, scheduling/policies.py
STAFF_ROLES = {"staff", "admin"}

# --- the project's SQL (CaptureQueriesContext, a patient's doctor-month) ---------------------

BEARER_USER_SQL = """SELECT "accounts_authtoken"."id", "accounts_authtoken"."key_hash",
 "accounts_authtoken"."created_at", "accounts_authtoken"."revoked_at", "accounts_authtoken"."expires_at",
 "accounts_authtoken"."user_id",
 "accounts_authtoken"."provider", "accounts_user"."id", "accounts_user"."password", "accounts_user"."last_login",
 "accounts_user"."is_superuser", "accounts_user"."email", "accounts_user"."first_name", "accounts_user"."last_name",
 "accounts_user"."role", "accounts_user"."phone", "accounts_user"."is_active", "accounts_user"."is_staff",
 "accounts_user"."firebase_uid", "accounts_user"."date_joined", "accounts_user"."anonymised_at",
 "accounts_patient"."id", "accounts_patient"."user_id", "accounts_patient"."date_of_birth",
 "accounts_patient"."gender", "accounts_patient"."address", "accounts_patient"."emergency_contact_name",
 "accounts_patient"."emergency_contact_phone", "accounts_doctor"."id", "accounts_doctor"."user_id",
 "accounts_doctor"."specialization", "accounts_doctor"."qualifications", "accounts_doctor"."experience_years",
 "accounts_doctor"."is_approved", "accounts_doctor"."approved_at"
 FROM "accounts_authtoken" INNER JOIN "accounts_user" ON ("accounts_authtoken"."user_id" = "accounts_user"."id")
 LEFT OUTER JOIN "accounts_patient" ON ("accounts_user"."id" = "accounts_patient"."user_id")
 LEFT OUTER JOIN "accounts_doctor" ON ("accounts_user"."id" = "accounts_doctor"."user_id")
 WHERE ("accounts_authtoken"."expires_at" > %s AND "accounts_authtoken"."revoked_at" IS NULL
 AND "accounts_authtoken"."key_hash" IN (%s) AND "accounts_user"."is_active") LIMIT 1"""
USER_ID_COLUMN, ROLE_COLUMN = 7, 14  # in BEARER_USER_SQL

SETTING_SQL = """SELECT "core_clinicsetting"."value" AS "value" FROM "core_clinicsetting"
 WHERE "core_clinicsetting"."key" = %s ORDER BY "core_clinicsetting"."key" ASC LIMIT 1"""

# May the caller see the doctor? Patients and doctors see approved, active doctors (and
# themselves); staff and admin, all.
DOCTOR_SQL = """SELECT "accounts_doctor"."id" AS "pk" FROM "accounts_doctor"
 INNER JOIN "accounts_user" ON ("accounts_doctor"."user_id" = "accounts_user"."id")
 WHERE ("accounts_doctor"."id" = %s AND (("accounts_doctor"."is_approved" AND "accounts_user"."is_active")
 OR "accounts_doctor"."user_id" = %s)) LIMIT 1"""
DOCTOR_SQL_STAFF = """SELECT "accounts_doctor"."id" AS "pk" FROM "accounts_doctor"
 WHERE "accounts_doctor"."id" = %s LIMIT 1"""

SLOTS_SQL = """SELECT ("scheduling_slot"."start")::text AS "start_text", ("scheduling_slot"."end")::text AS "end_text",
 "scheduling_slot"."status" AS "status",
 EXISTS(SELECT 1 AS "a" FROM "scheduling_hold" U0 INNER JOIN "accounts_patient" U1 ON (U0."patient_id" = U1."id")
 WHERE (U0."expires_at" > %s AND U0."status" = 'active' AND NOT (U1."user_id" = %s)
 AND U0."slot_id" = ("scheduling_slot"."id")) LIMIT 1) AS "held"
 FROM "scheduling_slot" WHERE ("scheduling_slot"."doctor_id" = %s AND "scheduling_slot"."start" >= %s
 AND "scheduling_slot"."start" < %s) ORDER BY "scheduling_slot"."start" ASC"""

# The statements of a patient's read once the settings are cached, in order (make bench
# compares them with the project's, captured, before it times anything).
PATIENT_READ = (BEARER_USER_SQL, DOCTOR_SQL, SLOTS_SQL)


def shape(sql: str) -> str:
    """A statement with its literals and placeholders as `?` and its blanks collapsed, so
    that the project's captured SQL (literals inlined) and these compare."""
    return " ".join(re.sub(r"'[^']*'(::\w+)?|%s|\b\d+\b", "?", sql).split())


# --- the app ------------------------------------------------------------------------------------

_pool: ConnectionPool | None = None
_settings: dict[str, tuple[float, Any]] = {}


class Answer(Exception):
    def __init__(self, status: int, code: str, detail: str) -> None:
        self.status, self.body = status, {"code": code, "detail": detail}


def _pool_get() -> ConnectionPool:
    global _pool
    if _pool is None:
        _pool = ConnectionPool(
            DATABASE_URL,
            min_size=2,
            max_size=20,
            kwargs={"autocommit": True, "prepare_threshold": None, "options": "-c TimeZone=UTC"},
            check=ConnectionPool.check_connection,
            open=True,
        )
    return _pool


def _setting(cursor: Any, key: str) -> Any:
    cached = _settings.get(key)
    now = time.monotonic()
    if cached is not None and cached[0] > now:
        return cached[1]
    row = cursor.execute(SETTING_SQL, [key]).fetchone()
    value = SETTING_DEFAULTS[key] if row is None else row[0]
    _settings[key] = (now + SETTINGS_CACHE_SECONDS, value)
    return value


def _window(query: dict[str, list[str]]) -> tuple[date | None, date | None]:
    try:
        day, first, last = (date.fromisoformat(query[k][0]) if k in query else None for k in ("date", "from", "to"))
    except ValueError:
        raise Answer(400, "invalid", "Invalid date.") from None
    if day is not None:
        return day, day
    if (first is None) != (last is None) or (first and last and not 0 <= (last - first).days < MAX_DAYS):
        raise Answer(400, "invalid", "Invalid window.")
    return first, last


def availability(token: str, doctor_id: int, first: date | None, last: date | None) -> dict[str, Any]:
    """What the project's `scheduling.selectors.availability` returns, from the same SQL."""
    with _pool_get().connection() as conn, conn.cursor() as cursor:
        now = datetime.now(UTC)
        user = cursor.execute(BEARER_USER_SQL, [now, hashlib.sha256(token.encode()).hexdigest()]).fetchone()
        if user is None:
            raise Answer(401, "not_authenticated", "Invalid or expired token.")
        user_id, role = user[USER_ID_COLUMN], user[ROLE_COLUMN]
        try:
            tz = ZoneInfo(_setting(cursor, "timezone"))
        except ZoneInfoNotFoundError:
            tz = ZoneInfo("UTC")
        now = datetime.now(UTC)
        first = first or now.astimezone(tz).date()
        last = last or first
        notice_ends = now + timedelta(minutes=_setting(cursor, "min_notice_minutes"))
        if role in STAFF_ROLES:
            doctor = cursor.execute(DOCTOR_SQL_STAFF, [doctor_id]).fetchone()
        else:
            doctor = cursor.execute(DOCTOR_SQL, [doctor_id, user_id]).fetchone()
        if doctor is None:
            raise Answer(404, "not_found", "Not found.")
        window_start = datetime.combine(first, datetime.min.time(), tzinfo=tz).astimezone(UTC)
        window_end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=tz).astimezone(UTC)
        now = datetime.now(UTC)
        rows = cursor.execute(SLOTS_SQL, [now, user_id, doctor_id, max(window_start, now), window_end]).fetchall()
    books = role == "patient" or role in STAFF_ROLES
    slots = []
    for start_text, end_text, status, held in rows:
        start = datetime.fromisoformat(start_text)
        available = status == "free" and not held
        if not available:
            reason = "unavailable"
        elif not books:
            reason = "role"
        elif role == "patient" and start < notice_ends:
            reason = "notice"
        else:
            reason = None
        slots.append(
            {
                "start": start.astimezone(tz).isoformat(),
                "end": datetime.fromisoformat(end_text).astimezone(tz).isoformat(),
                "available": available,
                "bookable": reason is None,
                "reason": reason,
            }
        )
    return {"doctor": doctor_id, "timezone": tz.key, "slots": slots}


def _answer(scope: dict[str, Any]) -> tuple[int, bytes]:
    match = PATH.match(scope["path"])
    if scope["method"] != "GET" or match is None:
        return 404, b'{"code":"not_found","detail":"Not found."}'
    auth = dict(scope["headers"]).get(b"authorization", b"").split()
    try:
        if len(auth) != 2 or auth[0].lower() != b"bearer":
            raise Answer(401, "not_authenticated", "Authentication credentials were not provided.")
        first, last = _window(parse_qs(scope["query_string"].decode()))
        status, body = 200, availability(auth[1].decode(), int(match.group(1)), first, last)
    except Answer as answer:
        status, body = answer.status, answer.body
    return status, json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            event = await receive()
            if event["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif event["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    status, body = await asyncio.get_running_loop().run_in_executor(None, _answer, scope)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
