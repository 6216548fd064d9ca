"""Helpers of the billing tests (import them from here; fixtures stay in conftest.py)."""

import hashlib
import hmac
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

WEBHOOK_SECRET = "whsec_test_local_secret"


def past(days: int = 1, hour: int = 9) -> datetime:
    day = datetime.now(UTC) - timedelta(days=days)
    return day.replace(hour=hour, minute=0, second=0, microsecond=0)


class StripeStandIn:
    """A small HTTP server that answers the Stripe API calls billing makes, as Stripe would.

    It honours Idempotency-Key like Stripe: the same key replays the first answer. Every
    request is recorded (path, form fields, headers) for the tests to inspect.
    """

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.by_key: dict[str, tuple[int, dict[str, Any]]] = {}
        self.intents = 0
        self.refunds = 0
        self.refund_objects: list[dict[str, Any]] = []
        self.intent_objects: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                self._answer(*stand_in.handle(self.path, dict(parse_qsl(body)), dict(self.headers)))

            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                self._answer(*stand_in.read(path, dict(parse_qsl(query))))

            def _answer(self, status: int, payload: dict[str, Any]) -> None:
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def handle(self, path: str, form: dict[str, str], headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.requests.append({"path": path, "form": form, "headers": headers})
            key = headers.get("Idempotency-Key", "")
            if key in self.by_key:
                return self.by_key[key]
            if path.startswith("/v1/payment_intents/") and path.endswith("/cancel"):
                intent = self.intent_objects.get(path.split("/")[3])
                if intent is None:
                    return 404, {"error": {"type": "invalid_request_error", "message": "no such intent"}}
                if intent["status"] in ("succeeded", "canceled", "processing"):
                    message = f"You cannot cancel this PaymentIntent because it has a status of {intent['status']}."
                    error = {"type": "invalid_request_error", "code": "payment_intent_unexpected_state"}
                    return 400, {"error": {**error, "message": message}}
                intent["status"] = "canceled"
                return 200, intent
            if path == "/v1/payment_intents":
                self.intents += 1
                ident = f"pi_test_{self.intents}"
                answer = {
                    "id": ident,
                    "object": "payment_intent",
                    "amount": int(form["amount"]),
                    "currency": form["currency"],
                    "status": "requires_payment_method",
                    "client_secret": f"{ident}_secret_abc",
                    "metadata": {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")},
                }
                self.intent_objects[ident] = answer
            elif path == "/v1/refunds":
                self.refunds += 1
                answer = {
                    "id": f"re_test_{self.refunds}",
                    "object": "refund",
                    "amount": int(form["amount"]),
                    "payment_intent": form["payment_intent"],
                    "status": "succeeded",
                    "metadata": {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")},
                }
                self.refund_objects.append(answer)
            else:
                return 404, {"error": {"type": "invalid_request_error", "message": f"no route {path}"}}
            self.by_key[key] = (200, answer)
            return 200, answer

    def read(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """GET /v1/payment_intents/{id}, and GET /v1/refunds?payment_intent=...: the refunds of one
        intent, newest first, as Stripe lists them."""
        with self.lock:
            self.requests.append({"path": path, "query": query, "method": "GET"})
            if path.startswith("/v1/payment_intents/") and path.split("/")[3] in self.intent_objects:
                return 200, self.intent_objects[path.split("/")[3]]
            if path != "/v1/refunds":
                return 404, {"error": {"type": "invalid_request_error", "message": f"no route {path}"}}
            found = [r for r in reversed(self.refund_objects) if r["payment_intent"] == query.get("payment_intent")]
            return 200, {"object": "list", "url": "/v1/refunds", "has_more": False, "data": found}


def signed_event(event: dict[str, Any], secret: str = WEBHOOK_SECRET, at: int | None = None) -> tuple[bytes, str]:
    """The payload and Stripe-Signature header Stripe would send: v1 = HMAC-SHA256 of "t.payload"."""
    payload = json.dumps(event).encode()
    timestamp = at if at is not None else int(time.time())
    signature = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return payload, f"t={timestamp},v1={signature}"


def intent_event(event_id: str, kind: str, intent_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": event_id,
        "object": "event",
        "type": kind,
        "data": {"object": {"id": intent_id, "object": "payment_intent", **extra}},
    }
