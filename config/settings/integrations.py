"""Outside services, each on when configured and off (or replaced by an embedded stand-in)
when not: Firebase sign-in, Twilio SMS and video (else Jitsi rooms), SendGrid email, Stripe
card payments, and the FHIR facade's identifiers. S3 for records is in files.py."""

from django.core.exceptions import ImproperlyConfigured

from config.settings.base import DEBUG, PORT, env

# --- Sign-in: Firebase ------------------------------------------------------------------

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

# --- Notifications: Twilio (SMS), SendGrid (email) ----------------------------------------

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

# --- Video visits: Twilio Video or Jitsi Meet ---------------------------------------------

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

# --- Billing: Stripe ----------------------------------------------------------------------

# Stripe takes card payments when a secret key is set; without one, card payments are
# refused (cash and insurance at the desk always work).
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
# Signing secret of the webhook endpoint (/api/webhooks/stripe/); events are refused without it.
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
# Another Stripe API address (a local stand-in in tests); empty means Stripe itself.
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")

# --- FHIR facade --------------------------------------------------------------------------

# The clinic's identifier system: Patient, Practitioner, Schedule and Appointment
# identifiers are `{FHIR_IDENTIFIER_SYSTEM}/patient` (and so on) with the record's id.
FHIR_IDENTIFIER_SYSTEM = env.str("FHIR_IDENTIFIER_SYSTEM", default="https://clinic.example/fhir/id")
