"""Pages of the reference clients and the readable AsyncAPI document.

The portal and dashboard pages are shells: everything they show comes from the public
REST API and /ws/ through the ES modules in static/portals/, so they are also the worked
example of a client a portal developer would write.
"""

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.views import View
from django.views.decorators.http import require_GET

from accounts import demo


def _demo_accounts() -> dict[str, Any] | None:
    """The demo people, shown only where they exist and may be shown (DEBUG or DEMO_MODE)."""
    if not (settings.DEBUG or settings.DEMO_MODE):
        return None
    return {
        "password": demo.DEMO_PASSWORD,
        "rows": [
            ("patient", ", ".join(demo.patient_email(i) for i in range(3)) + " … " + demo.patient_email(19)),
            ("doctor", ", ".join(d["email"] for d in demo.DOCTORS)),
            ("staff (reception)", demo.RECEPTION["email"]),
            ("admin", demo.ADMIN["email"]),
        ],
    }


@require_GET
def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "portals/landing.html", {"demo": _demo_accounts()})


@require_GET
def patient_portal(request: HttpRequest) -> HttpResponse:
    return render(request, "portals/patient.html", {"demo": _demo_accounts()})


@require_GET
def doctor_dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "portals/doctor.html", {"demo": _demo_accounts()})


@lru_cache(maxsize=1)
def _asyncapi_text() -> str:
    # The committed, generated file (a test fails when it is stale): serving it needs no
    # renderer at run time (tooling/ is loaded by no process).
    return (Path(settings.BASE_DIR) / "frontend_contracts" / "asyncapi.yaml").read_text()


class AsyncApiYamlView(View):
    """The websocket contract, exactly as frontend_contracts/asyncapi.yaml holds it."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(_asyncapi_text(), content_type="application/yaml; charset=utf-8")


def _inline_code(text: str) -> str:
    """The document's `backticks` as <code>, everything else escaped."""
    return mark_safe(re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(text)))  # noqa: S308 (escaped above)


def _message_rows(document: dict[str, Any], refs: list[dict[str, str]]) -> list[dict[str, Any]]:
    messages = document["components"]["messages"]
    rows = []
    for ref in refs:
        message = messages[ref["$ref"].rsplit("/", 1)[-1]]
        payload = message.get("payload", {})
        rows.append(
            {
                "name": message.get("name", ""),
                "summary": _inline_code(message.get("summary", "")),
                "description": _inline_code(message.get("description", "")),
                "payload": json.dumps(payload, indent=2, ensure_ascii=False),
                "examples": [
                    json.dumps(example.get("payload", example), indent=2, ensure_ascii=False)
                    for example in message.get("examples", [])
                ],
            }
        )
    return rows


class AsyncApiPageView(View):
    """A readable rendering of the AsyncAPI document: no JavaScript, no outside assets."""

    def get(self, request: HttpRequest) -> HttpResponse:
        document = yaml.safe_load(_asyncapi_text())
        channel = next(iter(document["channels"].values()))
        return render(
            request,
            "portals/asyncapi.html",
            {
                "info": document["info"],
                "paragraphs": [
                    _inline_code(p) for p in document["info"].get("description", "").split("\n\n") if p.strip()
                ],
                "channel": next(iter(document["channels"])),
                "client_messages": _message_rows(document, channel["publish"]["message"]["oneOf"]),
                "server_messages": _message_rows(document, channel["subscribe"]["message"]["oneOf"]),
            },
        )


def page_not_found(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
    """Any unknown page outside /api/: a plain 404 with a way back, also with DEBUG on."""
    return render(request, "portals/not_found.html", status=404)
