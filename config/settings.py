"""Settings, all from environment variables (documented in README.md).

Defaults run on a laptop with nothing installed: SQLite, an in-process channel layer and
in-process tasks. Production secrets have no default and fail fast.
"""

from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from config.storage import records_storage_config

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
# The landing page lists the demo accounts and their password with DEBUG on, or with this
# on (a demo deployment whose database `populate_db_master` loaded).
DEMO_MODE = env.bool("DEMO_MODE", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off.")
    SECRET_KEY = "dev-only-insecure-secret-key-set-SECRET_KEY-in-production"  # noqa: S105

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
PORT = env.int("PORT", default=8000)

# Where the embedded defaults keep their files (SQLite database, uploaded files).
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))

INSTALLED_APPS = [
    "daphne",
    # django.contrib.admin, with a site in the clinic's time whose sign-in is throttled and audited.
    "clinic.apps.BackOfficeAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "corsheaders",
    "observability",
    "core",
    "accounts",
    "audit",
    "clinic",
    "scheduling",
    "realtime",
    "records",
    "notifications",
    "billing",
    "reviews",
    "waitlist",
    "video",
    "fhir_facade",
    "tooling",
    "portals",
]

MIDDLEWARE = [
    # First: its clock, status and request id are those the client sees.
    "observability.middleware.RequestObservabilityMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.ContentSecurityPolicyMiddleware",
    # Before anything that may answer (whitenoise, common): a preflight is answered here.
    "corsheaders.middleware.CorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "audit.middleware.RequestContextMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

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
if IS_POSTGRES and DB_POOL_MAX_SIZE > 0:
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": min(env.int("DB_POOL_MIN_SIZE", default=2), DB_POOL_MAX_SIZE),
        "max_size": DB_POOL_MAX_SIZE,
        "timeout": env.float("DB_POOL_TIMEOUT_SECONDS", default=30.0),
    }
    # A pooled connection outlives a PostgreSQL restart as a dead socket, and unchecked it is
    # handed to the next request (a 503 for each, with the database back; tests/faults). The
    # pool checks each one it hands out (an empty query, ~20 us) and, on a dead one, all the
    # others at once (core/postgresql/base.py; Django's own check cannot be swapped).
    DATABASES["default"]["ENGINE"] = "core.postgresql"
# Threads per web process serving REST requests (core.asgi): more requests than threads wait
# in line, not for a connection, so keep it at or under DB_POOL_MAX_SIZE.
HTTP_THREADS = env.int("HTTP_THREADS", default=16)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, cache, Celery broker ----------------------------------------

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
CHANNEL_LAYERS: dict[str, dict[str, Any]] = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
# Without a broker, tasks run in the calling process (the embedded default).
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict = {}
# Workers log through LOGGING below (JSON or plain, with the request id), not Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Auth -----------------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# API tokens: how long one lives, in seconds (default 12 h).
TOKEN_TTL = timedelta(seconds=env.int("TOKEN_TTL", default=12 * 3600))
# Dead (expired or revoked) tokens are kept this long before they are purged, so a recent
# sign-out can still be investigated; they stop working at once either way.
TOKEN_RETENTION_DAYS = env.int("TOKEN_RETENTION_DAYS", default=7)
CELERY_BEAT_SCHEDULE["accounts-purge-dead-tokens"] = {
    "task": "accounts.tasks.purge_dead_tokens",
    "schedule": crontab(hour=3, minute=30),
}

# Firebase: on when a project id is set. Credentials (a service-account JSON file) are
# needed to check revocation at sign-in; without them tokens are still verified.
FIREBASE_PROJECT_ID = env.str("FIREBASE_PROJECT_ID", default="")
FIREBASE_CREDENTIALS_FILE = env.str("FIREBASE_CREDENTIALS_FILE", default="")
FIREBASE_CHECK_REVOKED = env.bool("FIREBASE_CHECK_REVOKED", default=True)
FIREBASE_CLOCK_SKEW_SECONDS = env.int("FIREBASE_CLOCK_SKEW_SECONDS", default=5)
FIREBASE_ENABLED = bool(FIREBASE_PROJECT_ID)
# Email + password sign-in: on unless Firebase is configured; can be forced either way.
LOCAL_SIGN_IN_ENABLED = env.bool("LOCAL_SIGN_IN_ENABLED", default=not FIREBASE_ENABLED)
if not DEBUG and env.str("FIREBASE_AUTH_EMULATOR_HOST", default=""):
    # The emulator accepts unsigned tokens: anyone could sign in as anyone.
    raise ImproperlyConfigured("FIREBASE_AUTH_EMULATOR_HOST must not be set in production.")

# --- REST API -------------------------------------------------------------------------

THROTTLE_ENABLED = env.bool("THROTTLE_ENABLED", default=True)
THROTTLE_RATES = {
    "register": env.str("THROTTLE_REGISTER_RATE", default="10/hour"),
    "login": env.str("THROTTLE_LOGIN_RATE", default="20/minute"),
    "send": env.str("THROTTLE_SEND_RATE", default="30/hour"),
}

REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "EXCEPTION_HANDLER": "core.errors.exception_handler",
    "DEFAULT_METADATA_CLASS": "core.metadata.EndpointMetadata",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"] = [
        *REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"],
        "rest_framework.renderers.BrowsableAPIRenderer",
    ]

SPECTACULAR_SETTINGS = {
    "TITLE": "Clinic API",
    "DESCRIPTION": (
        "REST API of the clinic platform. Errors are `{code, detail, fields?}`; every operation lists its "
        "statuses and error codes. Realtime events over the websocket at `/ws/`: "
        "[the AsyncAPI page](/api/asyncapi/) ([asyncapi.yaml](/api/asyncapi.yaml)). "
        "Reference clients: [patient portal](/patient/), [doctor dashboard](/doctor/)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/",
    # Swagger UI assets are served from the package, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # Several models have a `status`; named enums keep the generated names stable.
    "ENUM_NAME_OVERRIDES": {
        "PaymentStatusEnum": "billing.models.PaymentStatus",
        "RefundStatusEnum": "billing.models.RefundStatus",
        "InvoiceStatusEnum": "billing.models.InvoiceStatus",
        # The name the appointment status had before billing added its statuses.
        "StatusEnum": "scheduling.models.AppointmentStatus",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.schema.add_error_responses",
    ],
}

# --- Scheduling -----------------------------------------------------------------------

# How long a booking waits for a contended slot or patient row before answering 409.
SCHEDULING_LOCK_TIMEOUT_MS = env.int("SCHEDULING_LOCK_TIMEOUT_MS", default=3000)
# Every hour, the beat extends every doctor's slots to the booking horizon. Hourly, not at
# a fixed UTC hour: the horizon's new last day opens at the clinic's midnight, which can be
# any UTC hour (10:00 UTC for Kiritimati), and its slots should be there within the hour.
# Regenerating is idempotent: a run with nothing new to add changes nothing.
CELERY_BEAT_SCHEDULE["scheduling-extend-slots"] = {
    "task": "scheduling.tasks.extend_slots",
    "schedule": crontab(minute=5),
}

# Holds and the waitlist (contract §11): the beat sweeps behind the expiry task queued for
# each hold's `expires_at` and the offer task queued when a slot opens.
HOLD_SWEEP_SECONDS = env.float("HOLD_SWEEP_SECONDS", default=15.0)
WAITLIST_SWEEP_SECONDS = env.float("WAITLIST_SWEEP_SECONDS", default=60.0)
CELERY_BEAT_SCHEDULE["scheduling-expire-holds"] = {
    "task": "scheduling.tasks.expire_holds",
    "schedule": HOLD_SWEEP_SECONDS,
}
CELERY_BEAT_SCHEDULE["waitlist-sweep"] = {"task": "waitlist.tasks.sweep", "schedule": WAITLIST_SWEEP_SECONDS}

# --- Realtime -------------------------------------------------------------------------

# Which channels-redis layer carries websocket fan-out: "pubsub" (RedisPubSubChannelLayer,
# chosen by the numbers in docs/benchmarks.md "Websocket fan-out") or "core" (RedisChannelLayer).
# Pub/sub delivers at most once; the event outbox makes up for that (relay, replay, gap reads).
REALTIME_CHANNEL_LAYER = env.str("REALTIME_CHANNEL_LAYER", default="pubsub")
# Redis pub/sub channels are server-wide, not per database: the prefix carries the db number
# so two deployments (or test runs) sharing one Redis on different dbs never hear each other.
CHANNEL_LAYER_PREFIX = f"clinic{urlsplit(REDIS_URL).path.strip('/') or '0'}"
if REDIS_URL:
    CHANNEL_LAYERS["default"] = {
        "BACKEND": {
            "core": "channels_redis.core.RedisChannelLayer",
            "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
        }[REALTIME_CHANNEL_LAYER],
        "CONFIG": {"hosts": [REDIS_URL], "prefix": CHANNEL_LAYER_PREFIX},
    }
# How committed events reach the channel layer. "listen": the relay process
# (`manage.py relay_events`), woken by PostgreSQL NOTIFY at each commit, sends them, so the
# request that made the change only commits (docs/benchmarks.md). "inline": the process
# that committed sends them itself, after commit: the only choice without PostgreSQL and
# Redis (an in-process layer is unreachable from another process), as `make run` is.
EVENT_RELAY = env.str("EVENT_RELAY", default="listen" if IS_POSTGRES and REDIS_URL else "inline")
if EVENT_RELAY not in ("listen", "inline"):
    raise ImproperlyConfigured("EVENT_RELAY is listen or inline.")
if EVENT_RELAY == "listen" and not (IS_POSTGRES and REDIS_URL):
    raise ImproperlyConfigured("EVENT_RELAY=listen needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL).")
# How long a reception screen's display token works before it must be rotated.
DISPLAY_TOKEN_TTL_DAYS = env.int("DISPLAY_TOKEN_TTL_DAYS", default=90)
WS_AUTH_TIMEOUT_SECONDS = env.float("WS_AUTH_TIMEOUT_SECONDS", default=10.0)
WS_TOKEN_RECHECK_SECONDS = env.float("WS_TOKEN_RECHECK_SECONDS", default=60.0)
WS_MAX_MESSAGE_BYTES = env.int("WS_MAX_MESSAGE_BYTES", default=4096)
WS_MAX_SUBSCRIPTIONS = env.int("WS_MAX_SUBSCRIPTIONS", default=50)
WS_REPLAY_LIMIT = env.int("WS_REPLAY_LIMIT", default=1000)
EVENT_RETENTION = timedelta(hours=env.float("EVENT_RETENTION_HOURS", default=24.0))
EVENT_RELAY_INTERVAL_SECONDS = env.float("EVENT_RELAY_INTERVAL_SECONDS", default=5.0)
EVENT_RELAY_GRACE_SECONDS = env.float("EVENT_RELAY_GRACE_SECONDS", default=2.0)
CELERY_BEAT_SCHEDULE["realtime-relay-unsent-events"] = {
    "task": "realtime.tasks.relay_unsent_events",
    "schedule": EVENT_RELAY_INTERVAL_SECONDS,
}
CELERY_BEAT_SCHEDULE["realtime-prune-events"] = {
    "task": "realtime.tasks.prune_events",
    "schedule": 3600.0,
}

# --- Records (files) ------------------------------------------------------------------

# Medical reports are kept in S3 when a bucket is named (credentials through the usual AWS
# variables or an instance role), else as local files under VAR_DIR/media/records. Either
# way no public URL exists: downloads go through links signed by Django.
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
AWS_S3_REGION_NAME = env.str("AWS_S3_REGION_NAME", default="") or None
AWS_S3_ENDPOINT_URL = env.str("AWS_S3_ENDPOINT_URL", default="") or None
RECORDS_MAX_UPLOAD_BYTES = env.int("RECORDS_MAX_UPLOAD_BYTES", default=10 * 1024 * 1024)
RECORDS_DOWNLOAD_URL_TTL = env.int("RECORDS_DOWNLOAD_URL_TTL", default=300)
RECORDS_RETENTION_YEARS = env.int("RECORDS_RETENTION_YEARS", default=10)
CELERY_BEAT_SCHEDULE["records-purge-expired"] = {
    "task": "records.tasks.purge_expired_records",
    "schedule": crontab(hour=4, minute=0),
}


RECORDS_STORAGE = records_storage_config(
    local_root=VAR_DIR / "media" / "records",
    bucket=AWS_STORAGE_BUCKET_NAME,
    region=AWS_S3_REGION_NAME,
    endpoint_url=AWS_S3_ENDPOINT_URL,
    ttl=RECORDS_DOWNLOAD_URL_TTL,
)

# --- Notifications --------------------------------------------------------------------

# Twilio (SMS): on when the account SID, auth token and sender number are all set.
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env.str("TWILIO_FROM_NUMBER", default="")
# Where the SDK sends its REST calls (a local stand-in in tests).
TWILIO_API_BASE_URL = env.str("TWILIO_API_BASE_URL", default="https://api.twilio.com")
# The public URL of POST /api/webhooks/twilio/status/ as Twilio calls it: passed as each
# message's StatusCallback and used to check the signature (behind a proxy the request's
# own URL may differ). Unset: no status callbacks are asked for.
TWILIO_STATUS_CALLBACK_URL = env.str("TWILIO_STATUS_CALLBACK_URL", default="")
TWILIO_ENABLED = bool(TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER)

# Video visits (contract §14): Twilio Video when the account and an API key (which signs
# the participants' access tokens) are set; otherwise Jitsi Meet rooms with random names.
TWILIO_API_KEY_SID = env.str("TWILIO_API_KEY_SID", default="")
TWILIO_API_KEY_SECRET = env.str("TWILIO_API_KEY_SECRET", default="")
TWILIO_VIDEO_BASE_URL = env.str("TWILIO_VIDEO_BASE_URL", default="https://video.twilio.com")
TWILIO_VIDEO_ENABLED = bool(TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN and TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET)
JITSI_BASE_URL = env.str("JITSI_BASE_URL", default="https://meet.jit.si")
# Twilio's browser SDK, loaded by the video page for Twilio rooms only.
TWILIO_VIDEO_JS_URL = env.str(
    "TWILIO_VIDEO_JS_URL", default="https://sdk.twilio.com/js/video/releases/2.28.1/twilio-video.min.js"
)
# Where patients and doctors reach this service: links in reminders and the video page.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default=f"http://127.0.0.1:{PORT}")

# SendGrid (email): on when the API key and sender address are set.
SENDGRID_API_KEY = env.str("SENDGRID_API_KEY", default="")
SENDGRID_FROM_EMAIL = env.str("SENDGRID_FROM_EMAIL", default="")
SENDGRID_API_HOST = env.str("SENDGRID_API_HOST", default="https://api.sendgrid.com")
# The signed event webhook's verification key (base64 DER, as SendGrid shows it).
SENDGRID_WEBHOOK_PUBLIC_KEY = env.str("SENDGRID_WEBHOOK_PUBLIC_KEY", default="")
SENDGRID_ENABLED = bool(SENDGRID_API_KEY and SENDGRID_FROM_EMAIL)

# One provider call may take this long; a delivery left in "sending" for longer than the
# lease belongs to a worker that died, and is recovered (checked with the provider first).
NOTIFICATION_PROVIDER_TIMEOUT_SECONDS = env.int("NOTIFICATION_PROVIDER_TIMEOUT_SECONDS", default=20)
NOTIFICATION_SENDING_LEASE_SECONDS = env.int("NOTIFICATION_SENDING_LEASE_SECONDS", default=300)
NOTIFICATION_MAX_ATTEMPTS = env.int("NOTIFICATION_MAX_ATTEMPTS", default=6)
CELERY_BEAT_SCHEDULE["notifications-reminders"] = {"task": "notifications.send_due_reminders", "schedule": 60.0}
CELERY_BEAT_SCHEDULE["notifications-recover"] = {"task": "notifications.recover_stale_deliveries", "schedule": 120.0}

# --- Billing --------------------------------------------------------------------------

# Stripe takes card payments when a secret key is set; without one, card payments are
# refused (cash and insurance at the desk always work).
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
# Signing secret of the webhook endpoint (/api/webhooks/stripe/); events are refused without it.
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
# Another Stripe API address (a local stand-in in tests); empty means Stripe itself.
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")
# Card payments left unconfirmed past the `card_payment_expiry_minutes` clinic setting are
# cancelled at Stripe, so they stop holding the appointment's balance.
CELERY_BEAT_SCHEDULE["billing-expire-card-payments"] = {"task": "billing.expire_card_payments", "schedule": 300.0}

# --- FHIR facade ----------------------------------------------------------------------

# The clinic's identifier system: Patient, Practitioner, Schedule and Appointment
# identifiers are `{FHIR_IDENTIFIER_SYSTEM}/patient` (and so on) with the record's id.
FHIR_IDENTIFIER_SYSTEM = env.str("FHIR_IDENTIFIER_SYSTEM", default="https://clinic.example/fhir/id")

# --- Security -------------------------------------------------------------------------

SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

# Portals on other origins (browser apps) that may call the API and open /ws/; exact
# origins such as https://portal.clinic.example. Empty: same-origin only. Requests carry a
# Bearer token, never cookies, so credentials are not allowed cross-origin.
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/(api|fhir)/.*$"
CORS_ALLOW_CREDENTIALS = False
CORS_EXPOSE_HEADERS = ["Retry-After", "Idempotent-Replayed", "Content-Disposition"]
CORS_PREFLIGHT_MAX_AGE = 600
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- I18N, static ---------------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
    "records": RECORDS_STORAGE,
}
MEDIA_ROOT = VAR_DIR / "media"

# --- Operations: metrics, health, logs ----------------------------------------------------

# /metrics answers only with `Authorization: Bearer <METRICS_TOKEN>`; unset, it is off (404).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# A worker serves its own metrics on this port (0: not at all), for Prometheus inside the network.
WORKER_METRICS_PORT = env.int("WORKER_METRICS_PORT", default=0)
WORKER_METRICS_ADDR = env.str("WORKER_METRICS_ADDR", default="0.0.0.0")  # noqa: S104
# /api/health/ready fails when the oldest unsent outbox event is older than this.
HEALTH_MAX_OUTBOX_LAG_SECONDS = env.float("HEALTH_MAX_OUTBOX_LAG_SECONDS", default=60.0)
# Web, worker and beat processes write a heartbeat to Redis this often (three missed: gone).
HEARTBEAT_INTERVAL_SECONDS = env.float("HEARTBEAT_INTERVAL_SECONDS", default=15.0)

LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured("LOG_FORMAT is plain or json.")

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "observability.logs.ContextFilter"}},
    "formatters": {
        "plain": {
            "()": "observability.logs.PlainFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
        "json": {
            "()": "observability.logs.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # The Twilio SDK logs every request's headers and body at INFO: phone numbers and
    # message text do not belong in the log.
    "loggers": {
        "twilio.http_client": {"level": "WARNING"},
        # Django's own console handler (DEBUG only) would print each line a second time.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        # A 4xx is already the access line (`clinic.request`, observability.middleware, which
        # logs the path without its query string); 5xx keep their traceback.
        "django.request": {"level": "ERROR"},
        # daphne's start-up details (HTTP/2 off, endpoint set-up, listening); `daphne.cli`
        # still says where it serves.
        "daphne.server": {"level": "WARNING"},
    },
}
