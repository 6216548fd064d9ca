"""Firebase, offline: our own signing key, and a local stand-in for Google's endpoints.

The real `firebase-admin` SDK does all the verifying. What we replace is only what it
fetches over the network:

- the ID-token certificates (GET https://www.googleapis.com/robot/v1/metadata/x509/
  securetoken@system.gserviceaccount.com), a JSON object `{kid: PEM certificate}`;
- the Identity Toolkit user lookup (POST https://identitytoolkit.googleapis.com/v1/
  projects/<project>/accounts:lookup), which `check_revoked=True` calls;
- the OAuth token endpoint the service-account credential calls before that lookup.
  Its address comes from the service-account file (`token_uri`), which we write.

The two Google URLs are constants inside the SDK, so `route_to_local()` mounts a
`requests` transport adapter on the two HTTP sessions the SDK's auth client owns (the
certificate fetcher's and the API client's) that sends those hosts to the local server.
Everything above the socket (caching, JSON, JWT checks, error mapping) is the SDK's own.
"""

import datetime as dt
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from google.auth import crypt
from google.auth import jwt as google_jwt

PROJECT_ID = "clinic-test-project"
CERTS_PATH = "/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com"
GOOGLE_HOSTS = ("www.googleapis.com", "identitytoolkit.googleapis.com")


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_pem: str
    certificate_pem: str


def make_signing_key(kid: str) -> SigningKey:
    """An RSA key and a self-signed X.509 certificate for it, as Google publishes them."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "securetoken.system.gserviceaccount.com")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .sign(key, hashes.SHA256())
    )
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return SigningKey(kid, private_pem, certificate.public_bytes(serialization.Encoding.PEM).decode())


def sign_id_token(key: SigningKey, *, uid: str, project_id: str = PROJECT_ID, **claims: Any) -> str:
    """An RS256 Firebase ID token signed with `key`; any claim can be overridden or dropped (None)."""
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": f"https://securetoken.google.com/{project_id}",
        "aud": project_id,
        "auth_time": now - 60,
        "user_id": uid,
        "sub": uid,
        "iat": now - 10,
        "exp": now + 3600,
        "firebase": {"sign_in_provider": "password", "identities": {}},
    }
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    signer = crypt.RSASigner.from_string(key.private_pem, key_id=key.kid)
    return google_jwt.encode(signer, payload).decode()


@dataclass
class FakeGoogle:
    """What the local server answers, and what it was asked."""

    certificates: dict[str, str] = field(default_factory=dict)
    # uid → the Identity Toolkit user record (localId, validSince, disabled, ...).
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)
    base_url: str = ""

    def paths(self) -> list[str]:
        return [path for _method, path, _headers, _body in self.requests]


def _handler(fake: FakeGoogle) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _record(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            fake.requests.append((self.command, self.path, dict(self.headers), body))
            return body

        def do_GET(self) -> None:
            self._record()
            if self.path == CERTS_PATH:
                self._answer(200, fake.certificates)
            else:
                self._answer(404, {"error": "not found"})

        def do_POST(self) -> None:
            body = self._record()
            if self.path == "/token":
                self._answer(200, {"access_token": "local-access-token", "expires_in": 3600, "token_type": "Bearer"})
            elif self.path == f"/v1/projects/{PROJECT_ID}/accounts:lookup":
                uids = json.loads(body or b"{}").get("localId", [])
                users = [fake.accounts[uid] for uid in uids if uid in fake.accounts]
                self._answer(200, {"kind": "identitytoolkit#GetAccountInfoResponse", "users": users})
            else:
                self._answer(404, {"error": {"code": 404, "message": "not found", "status": "NOT_FOUND"}})

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler


class LocalGoogleServer:
    """A ThreadingHTTPServer on 127.0.0.1 and a free port, stopped by `close()`."""

    def __init__(self, fake: FakeGoogle) -> None:
        self.fake = fake
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
        self.httpd.daemon_threads = True
        host, port = str(self.httpd.server_address[0]), self.httpd.server_address[1]
        fake.base_url = f"http://{host}:{port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def service_account_file(directory: Path, fake: FakeGoogle, key: SigningKey) -> Path:
    """A service-account credential whose OAuth token endpoint is the local server."""
    path = directory / "service-account.json"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": PROJECT_ID,
                "private_key_id": key.kid,
                "private_key": key.private_pem,
                "client_email": f"firebase-adminsdk@{PROJECT_ID}.iam.gserviceaccount.com",
                "client_id": "1234567890",
                "token_uri": f"{fake.base_url}/token",
            }
        )
    )
    return path


class _ToLocal(requests.adapters.HTTPAdapter):
    """Sends requests for Google's hosts to the local server instead."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.local = urlsplit(base_url)

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        url = urlsplit(str(request.url))
        request.url = urlunsplit((self.local.scheme, self.local.netloc, url.path, url.query, url.fragment))
        return super().send(request, **kwargs)


def route_to_local(app: Any, fake: FakeGoogle) -> None:
    """Mount the local route on the HTTP sessions of `app`'s firebase auth client."""
    from firebase_admin import auth

    client = auth._get_client(app)
    adapter = _ToLocal(fake.base_url)
    sessions = (client._token_verifier.request.session, client._user_manager.http_client.session)
    for session in sessions:
        for host in GOOGLE_HOSTS:
            session.mount(f"https://{host}/", adapter)
