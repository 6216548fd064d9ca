"""The records file storage's configuration, built from the settings (config/settings/files.py)."""

from pathlib import Path
from typing import Any


def records_storage_config(
    *, bucket: str, region: str | None, endpoint_url: str | None, ttl: int, local_root: Path
) -> dict[str, Any]:
    """The records storage: private, server-side encrypted, write-once S3 objects, read
    through s3v4 presigned URLs that live `ttl` seconds; local files under `local_root`
    without a bucket."""
    if not bucket:
        return {"BACKEND": "records.storage.RecordsFileStorage", "OPTIONS": {"location": local_root}}
    return {
        "BACKEND": "records.storage.RecordsS3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "region_name": region,
            "endpoint_url": endpoint_url,
            "signature_version": "s3v4",
            "default_acl": "private",
            "object_parameters": {"ServerSideEncryption": "AES256"},
            "file_overwrite": False,
            "querystring_auth": True,
            "querystring_expire": ttl,
        },
    }
