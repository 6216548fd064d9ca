"""Settings, all from environment variables (docs/configuration.md lists every one).

Defaults run on a laptop with nothing installed: SQLite, an in-process channel layer and
in-process tasks. Production secrets have no default and fail fast. One module per
concern, read in this order (a module uses only what those before it read):

- base: Django itself: secret key, hosts, apps, middleware, templates, sign-in, time
- database: PostgreSQL (or SQLite) and its connection pool; Redis for the cache
- security: HTTPS, cookies, security headers, CORS
- api: Django REST Framework, rate limits, the OpenAPI schema
- integrations: Firebase, Twilio, SendGrid, Stripe, video, FHIR
- files: static files, uploads, medical reports (S3 or local)
- realtime: the channel layer, the event outbox's relay, websocket limits
- celery: the broker, the workers, the beat schedule
- operations: metrics, health, heartbeats, logging
"""

from config.settings.base import *
from config.settings.database import *
from config.settings.security import *
from config.settings.api import *
from config.settings.integrations import *
from config.settings.files import *
from config.settings.realtime import *
from config.settings.celery import *
from config.settings.operations import *
