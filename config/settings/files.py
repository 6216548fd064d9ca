"""Files: static files (whitenoise), uploads, and medical reports, kept in S3 or on local
disk."""

from config.settings.base import VAR_DIR, env
from config.storage import records_storage_config

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_ROOT = VAR_DIR / "media"

# Medical reports are kept in S3 when a bucket is named (credentials through the usual AWS
# variables or an instance role), else as local files under VAR_DIR/media/records. Either
# way no public URL exists: downloads go through links signed by Django.
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
AWS_S3_REGION_NAME = env.str("AWS_S3_REGION_NAME", default="") or None
AWS_S3_ENDPOINT_URL = env.str("AWS_S3_ENDPOINT_URL", default="") or None
RECORDS_MAX_UPLOAD_BYTES = env.int("RECORDS_MAX_UPLOAD_BYTES", default=10 * 1024 * 1024)
RECORDS_DOWNLOAD_URL_TTL = env.int("RECORDS_DOWNLOAD_URL_TTL", default=300)
# A deleted report or prescription is kept this many years after it was written, then
# purged (records/retention.py, a daily beat job in celery.py).
RECORDS_RETENTION_YEARS = env.int("RECORDS_RETENTION_YEARS", default=10)

RECORDS_STORAGE = records_storage_config(
    local_root=VAR_DIR / "media" / "records",
    bucket=AWS_STORAGE_BUCKET_NAME,
    region=AWS_S3_REGION_NAME,
    endpoint_url=AWS_S3_ENDPOINT_URL,
    ttl=RECORDS_DOWNLOAD_URL_TTL,
)

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
    "records": RECORDS_STORAGE,
}
