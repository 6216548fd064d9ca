"""Where report files live: the seam to S3 (django-storages) or to local files.

`settings.STORAGES["records"]` picks the backend. Both refuse to overwrite an existing
object and can tell the SHA-256 of what they hold, so a download can be checked against
the digest taken at upload.
"""

import base64
import hashlib
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.core.files.base import File
from django.core.files.storage import FileSystemStorage, Storage, storages
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

from core.exceptions import DomainError

logger = logging.getLogger(__name__)


class StorageUnavailable(DomainError):
    status_code = 503
    code = "storage_unavailable"
    default_detail = "The file store is not answering; try again shortly."


@contextmanager
def storage_errors(operation: str, key: str) -> Iterator[None]:
    """Turn a failing file store (S3 unreachable or refusing, a full disk) into a 503."""
    try:
        yield
    except (BotoCoreError, ClientError, OSError) as exc:
        logger.exception("records storage: %s of %s failed", operation, key)
        raise StorageUnavailable() from exc


class RecordsFileStorage(FileSystemStorage):
    """Local files, readable by the service's user only, never given a public URL."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("file_permissions_mode", 0o600)
        kwargs.setdefault("directory_permissions_mode", 0o700)
        # No base_url: the only way to a file is the signed download route.
        kwargs["base_url"] = None
        super().__init__(**kwargs)

    def sha256(self, name: str) -> str | None:
        """The SHA-256 of the stored bytes, or None when the file is gone."""
        digest = hashlib.sha256()
        try:
            with self.open(name, "rb") as handle:
                for chunk in iter(lambda: handle.read(1024 * 1024), b""):
                    digest.update(chunk)
        except FileNotFoundError:
            return None
        return digest.hexdigest()


class RecordsS3Storage(S3Storage):
    """Private, server-side encrypted S3 objects, written once.

    Reports are at most RECORDS_MAX_UPLOAD_BYTES, so one PUT carries each: S3 then keeps
    the SHA-256 of the whole object (a multipart upload would keep a checksum of checksums)
    and, with `If-None-Match: *`, refuses to replace an object that already exists, even
    when two writers race for one key.
    """

    def _save(self, name: str, content: File) -> str:
        cleaned = clean_name(name)
        key = self._normalize_name(cleaned)
        params = self._get_write_parameters(key, content)
        content.seek(0, os.SEEK_SET)
        body = content.read()
        self.connection.meta.client.put_object(
            Bucket=self.bucket_name,
            Key=key,
            Body=body,
            IfNoneMatch="*",
            # Served as a download even by a client that drops the presigned URL's
            # response-content-disposition (which names the file).
            ContentDisposition="attachment",
            ChecksumAlgorithm="SHA256",
            ChecksumSHA256=base64.b64encode(hashlib.sha256(body).digest()).decode(),
            **params,
        )
        return cleaned

    def sha256(self, name: str) -> str | None:
        """The SHA-256 S3 holds for the object, or None when the object is gone."""
        try:
            head = self.connection.meta.client.head_object(
                Bucket=self.bucket_name, Key=self._normalize_name(clean_name(name)), ChecksumMode="ENABLED"
            )
        except ClientError as exc:
            if exc.response["ResponseMetadata"]["HTTPStatusCode"] == 404:
                return None
            raise
        checksum = head.get("ChecksumSHA256")
        return base64.b64decode(checksum).hex() if checksum else None

    def presigned_download_url(self, name: str, *, filename_header: str, content_type: str, ttl: int) -> str:
        """A GET URL signed with s3v4 that S3 honours for `ttl` seconds, served as an attachment."""
        return self.url(
            name,
            parameters={"ResponseContentDisposition": filename_header, "ResponseContentType": content_type},
            expire=ttl,
        )


def report_storage() -> Storage:
    return storages["records"]
