"""The S3 path, against moto's S3 server started here on a free local port.

Real boto3 HTTP calls through django-storages; nothing is patched. What moto enforces is
tested against moto: private objects, server-side encryption, write-once keys, presigned
downloads. Moto 5.1 does not check a presigned URL's signature or expiry (any URL that
carries a signature is served), so expiry is checked where the application enforces it,
on its own download link, and the presigned URL is checked for an s3v4 signature that S3
honours for 300 seconds.
"""

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from django.core.files.base import ContentFile
from django.utils import timezone
from moto.server import ThreadedMotoServer
from rest_framework.test import APIClient

from audit.models import AuditLog
from config.storage import records_storage_config
from records import links
from records.models import MedicalReport
from records.storage import RecordsS3Storage, report_storage
from tests.records.helpers import image_bytes, pdf_bytes, upload

pytestmark = pytest.mark.slow

BUCKET = "clinic-records-test"
REGION = "eu-west-1"


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        _client(endpoint).create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        yield endpoint
    finally:
        server.stop()


def _client(endpoint: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(signature_version="s3v4"),
    )


@pytest.fixture
def s3(moto_endpoint, settings, monkeypatch, tmp_path):
    """The records storage configured exactly as config/settings/files.py does for a bucket."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    settings.STORAGES = {
        **settings.STORAGES,
        "records": records_storage_config(
            bucket=BUCKET, region=REGION, endpoint_url=moto_endpoint, ttl=300, local_root=tmp_path
        ),
    }
    assert isinstance(report_storage(), RecordsS3Storage)
    return _client(moto_endpoint)


def _redirect(client, report) -> str:
    """The presigned S3 URL the report's download link redirects to."""
    link = client.get(f"/api/reports/{report.id}/").json()["download_url"]
    response = APIClient().get(link)
    assert response.status_code == 302, response.content
    assert response["X-Content-Type-Options"] == "nosniff"
    return response["Location"]


@pytest.mark.django_db
def test_upload_then_presigned_download_gives_the_same_bytes(s3, moto_endpoint, client_for, carol, alice, treats):
    data = pdf_bytes(3)
    created = client_for(carol).post(
        "/api/reports/upload/",
        {"patient": alice.patient.id, "title": "CT", "file": upload(data, name="ct scan.pdf")},
        format="multipart",
    )
    assert created.status_code == 201, created.content
    report = MedicalReport.objects.get(pk=created.json()["id"])

    url = _redirect(client_for(alice), report)
    assert url.startswith(f"{moto_endpoint}/{BUCKET}/{report.storage_key}?")
    fetched = httpx.get(url, timeout=10)
    assert fetched.status_code == 200
    assert fetched.content == data
    assert hashlib.sha256(fetched.content).hexdigest() == report.sha256
    assert fetched.headers["content-type"] == "application/pdf"
    # The object itself is stored as an attachment; the URL also asks S3 to name the file
    # (moto does not apply response-content-disposition, real S3 does).
    assert fetched.headers["content-disposition"].startswith("attachment")
    assert parse_qs(urlparse(url).query)["response-content-disposition"] == ['attachment; filename="ct_scan.pdf"']
    assert AuditLog.objects.filter(actor=alice, action="report.downloaded", object_id=str(report.id)).exists()


@pytest.mark.django_db
def test_objects_are_private_encrypted_and_checksummed(s3, report):
    head = s3.head_object(Bucket=BUCKET, Key=report.storage_key, ChecksumMode="ENABLED")
    assert head["ServerSideEncryption"] == "AES256"
    assert head["ContentType"] == "application/pdf"
    assert report_storage().sha256(report.storage_key) == report.sha256
    grants = s3.get_object_acl(Bucket=BUCKET, Key=report.storage_key)["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]
    assert all(g["Grantee"]["Type"] == "CanonicalUser" for g in grants)


@pytest.mark.django_db
def test_no_object_is_readable_without_a_signature(s3, moto_endpoint, client_for, alice, report):
    plain = f"{moto_endpoint}/{BUCKET}/{report.storage_key}"
    assert httpx.get(plain, timeout=10).status_code == 403
    # The same object, through a presigned URL, is there: the 403 is about the signature.
    assert httpx.get(_redirect(client_for(alice), report), timeout=10).status_code == 200


@pytest.mark.django_db
def test_presigned_url_is_s3v4_and_lives_five_minutes(s3, client_for, alice, report):
    before = datetime.now(UTC).replace(microsecond=0)
    query = parse_qs(urlparse(_redirect(client_for(alice), report)).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Expires"] == ["300"]
    signed_at = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert before - timedelta(seconds=1) <= signed_at <= datetime.now(UTC)
    assert query["X-Amz-Signature"][0]


@pytest.mark.django_db
def test_expired_link_is_refused_and_no_presigned_url_is_given(s3, alice, report):
    token = links.download_token(
        report_id=report.id, user_id=alice.id, break_glass=False, expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = APIClient().get(f"/api/reports/{report.id}/download/", {"sig": token})
    assert response.status_code == 403
    assert response.json()["code"] == "link_expired"
    assert "Location" not in response


@pytest.mark.django_db
def test_s3_refuses_to_overwrite_an_object(s3, report):
    storage = report_storage()
    with pytest.raises(ClientError) as refused:
        storage._save(report.storage_key, ContentFile(b"replacement"))
    assert refused.value.response["Error"]["Code"] == "PreconditionFailed"
    # Through the public save(), a taken name gets a fresh one.
    assert storage.save(report.storage_key, ContentFile(image_bytes("PNG"))) != report.storage_key
    assert report_storage().sha256(report.storage_key) == report.sha256


@pytest.mark.django_db
def test_an_object_replaced_behind_our_back_is_not_served(s3, client_for, alice, report):
    link = client_for(alice).get(f"/api/reports/{report.id}/").json()["download_url"]
    s3.put_object(Bucket=BUCKET, Key=report.storage_key, Body=b"%PDF-1.4 forged", ChecksumAlgorithm="SHA256")
    response = APIClient().get(link)
    assert response.status_code == 409
    assert response.json()["code"] == "integrity_check_failed"
    assert "Location" not in response


@pytest.mark.django_db
def test_refused_upload_puts_nothing_in_the_bucket(s3, client_for, carol, alice, treats):
    before = s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0)
    response = client_for(carol).post(
        "/api/reports/upload/",
        {"patient": alice.patient.id, "title": "X", "file": upload(b"MZ" + b"\x00" * 100, name="x.pdf")},
        format="multipart",
    )
    assert response.status_code == 415
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == before
