"""A local HTTP stand-in for Twilio's and SendGrid's REST APIs.

The real SDKs are pointed at it (TWILIO_API_BASE_URL, SENDGRID_API_HOST). It records
every request, answers message sends with scripted statuses (default: accepted), keeps
the messages it accepted so the SDKs' list/search calls find them, and can hang on a
send (after accepting it, as a provider whose answer is lost) until released.
"""

import json
import threading
import uuid
from dataclasses import dataclass, field
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.utils import timezone

TWILIO_SID = "AC" + "0" * 32
TWILIO_TOKEN = "twilio-test-token"
TWILIO_FROM = "+15005550006"


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode())

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class StandIn:
    port: int = 0
    requests: list[Recorded] = field(default_factory=list)
    # Statuses for the next sends, in order; once empty, sends are accepted.
    script: list[int] = field(default_factory=list)
    hang_next_send: bool = False
    release: threading.Event = field(default_factory=threading.Event)
    sms: list[dict] = field(default_factory=list)
    emails: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def sends(self, kind: str) -> list[Recorded]:
        suffix = "/Messages.json" if kind == "sms" else "/v3/mail/send"
        return [r for r in self.requests if r.method == "POST" and r.path.endswith(suffix)]


def _handler(stand_in: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def _reply(self, status: int, body: object = None, headers: dict[str, str] | None = None) -> None:
            payload = b"" if body is None else json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client is gone (a killed worker): the provider kept the message anyway

        def _record(self) -> Recorded:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            recorded = Recorded(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query),
                headers=dict(self.headers.items()),
                body=self.rfile.read(length) if length else b"",
            )
            with stand_in.lock:
                stand_in.requests.append(recorded)
            return recorded

        def _next_status(self, default: int) -> tuple[int, bool]:
            with stand_in.lock:
                status = stand_in.script.pop(0) if stand_in.script else default
                hang, stand_in.hang_next_send = stand_in.hang_next_send, False
            return status, hang

        def do_POST(self) -> None:
            recorded = self._record()
            if recorded.path.endswith("/Messages.json"):
                self._twilio_send(recorded)
            elif recorded.path == "/v3/mail/send":
                self._sendgrid_send(recorded)
            else:
                self._reply(404, {"message": "not here"})

        def do_GET(self) -> None:
            recorded = self._record()
            if recorded.path.endswith("/Messages.json"):
                to = recorded.query.get("To", [""])[0]
                with stand_in.lock:
                    found = [m for m in stand_in.sms if m["to"] == to]
                self._reply(200, {"messages": list(reversed(found)), "next_page_uri": None, "page": 0})
            elif recorded.path == "/v3/messages":
                query = recorded.query.get("query", [""])[0]
                with stand_in.lock:
                    found = [
                        {"msg_id": f"{e['id']}.filterdrecv-1", "status": "delivered"}
                        for e in stand_in.emails
                        if f'"{e["notification_id"]}"' in query
                    ]
                self._reply(200, {"messages": found})
            else:
                self._reply(404, {"message": "not here"})

        def _twilio_send(self, recorded: Recorded) -> None:
            status, hang = self._next_status(201)
            if status != 201:
                self._reply(status, {"code": 21211 if status < 500 else 20500, "message": "refused", "status": status})
                return
            form = recorded.form()
            message = {
                "sid": "SM" + uuid.uuid4().hex,
                "account_sid": TWILIO_SID,
                "to": form["To"][0],
                "from": form["From"][0],
                "body": form["Body"][0],
                "status": "queued",
                "date_created": format_datetime(timezone.now()),
            }
            with stand_in.lock:
                stand_in.sms.append(message)
            if hang:
                stand_in.release.wait(timeout=60)
            self._reply(201, message)

        def _sendgrid_send(self, recorded: Recorded) -> None:
            status, hang = self._next_status(202)
            if status != 202:
                self._reply(status, {"errors": [{"message": "refused"}]})
                return
            mail = recorded.json()
            message_id = uuid.uuid4().hex[:22]
            with stand_in.lock:
                stand_in.emails.append({"id": message_id, "notification_id": mail["custom_args"]["notification_id"]})
            if hang:
                stand_in.release.wait(timeout=60)
            self._reply(202, None, {"X-Message-Id": message_id})

    return Handler


class StandInServer:
    """Runs a StandIn on 127.0.0.1 (a free port) in a thread; `stop()` ends it."""

    def __init__(self) -> None:
        self.state = StandIn()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.state))
        self._server.daemon_threads = True
        self.state.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> StandIn:
        self._thread.start()
        return self.state

    def stop(self) -> None:
        self.state.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
