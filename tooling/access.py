"""Who may call what: one table of every API endpoint and the roles it admits.

The table is the reviewable statement of the API's access control. Tests hold the code to
it (tests/tooling/test_access_table.py): every /api/ URL in the URL configuration must be
here with exactly the methods its view answers, an anonymous call to anything not open to
anyone gets 401, and a signed-in role the table does not admit gets 403. docs/access-control.md
is rendered from it (`python manage.py access_table`).

"Roles admitted" is the gate at the door. Finer rules ("its patient", "a doctor with a care
relation") are enforced by the selectors, which answer 404 for what is not yours; they are
written in `note`.

To add an endpoint: add its URL name (or its path, for an unnamed URL) with one `Access`
per HTTP method.
"""

from collections.abc import Iterator
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

from core.roles import STAFF_ROLES, Role

PATIENT = Role.PATIENT.value
DOCTOR = Role.DOCTOR.value
STAFF = Role.STAFF.value
ADMIN = Role.ADMIN.value
ROLES: tuple[str, ...] = tuple(Role.values)
SIGNED_IN = frozenset(ROLES)
DESK = STAFF_ROLES


@dataclass(frozen=True)
class Access:
    """The roles one method of one endpoint admits.

    `anyone`: no sign-in needed (a token, if sent, must still be valid).
    `roles`: the signed-in roles admitted; the others get 403.
    `gate`: "view" when the view's permission classes refuse the other roles before
    reading the request (the generic test checks the 403); "service" when the refusal
    needs the object or the body first (a doctor's own availability, a payment method)
    and the app's own tests check it.
    """

    roles: frozenset[str] = frozenset()
    anyone: bool = False
    note: str = ""
    gate: str = "view"


def anyone(note: str = "") -> Access:
    return Access(roles=SIGNED_IN, anyone=True, note=note)


def signed_in(note: str = "") -> Access:
    return Access(roles=SIGNED_IN, note=note)


def only(*roles: str, note: str = "", gate: str = "view") -> Access:
    return Access(roles=frozenset(roles), note=note, gate=gate)


ACCESS: dict[str, dict[str, Access]] = {
    # --- core ---------------------------------------------------------------------
    "health": {"GET": anyone("database and Redis answer")},
    "health-live": {"GET": anyone("liveness: the process answers")},
    "health-ready": {"GET": anyone("readiness: database, Redis, outbox lag under its threshold")},
    "schema": {"GET": anyone("the OpenAPI document")},
    "docs": {"GET": anyone("Swagger UI")},
    "asyncapi-yaml": {"GET": anyone("the AsyncAPI document of /ws/")},
    "asyncapi": {"GET": anyone("the AsyncAPI document as a page")},
    "setting-list": {"GET": anyone("public settings; admins see every setting")},
    "setting-update": {"PUT": only(ADMIN, note="value checked against the setting's type")},
    # --- accounts -----------------------------------------------------------------
    "register": {"POST": anyone("makes a patient; throttled")},
    "register-doctor": {"POST": anyone("makes an unapproved doctor; throttled")},
    "login": {"POST": anyone("throttled")},
    "logout": {"POST": signed_in("revokes the caller's token")},
    "user-me": {"GET": signed_in()},
    "user-update": {"PUT": signed_in("the caller's own account"), "PATCH": signed_in("the caller's own account")},
    "user-delete": {"DELETE": only(ADMIN, note="deactivates and anonymises")},
    "user-create": {"POST": only(ADMIN, note="how staff and admin accounts are made")},
    "doctor-list": {"GET": signed_in("approved doctors only, except for staff and admin")},
    "doctor-detail": {"GET": signed_in("an unapproved doctor: staff, admin and that doctor only")},
    "doctor-approve": {"PUT": only(ADMIN)},
    "doctor-reviews": {
        "GET": signed_in("visible reviews of a doctor the caller may see"),
        "POST": only(PATIENT, note="once per own completed appointment with that doctor"),
    },
    # --- scheduling -----------------------------------------------------------------
    "doctor-availability": {"GET": signed_in("free and taken slots of a listed doctor; no patient data")},
    "doctor-availability-rules": {
        "GET": signed_in(),
        "POST": only(DOCTOR, STAFF, ADMIN, note="that doctor, staff, admin", gate="service"),
    },
    "doctor-availability-rule": {
        "DELETE": only(DOCTOR, STAFF, ADMIN, note="that doctor, staff, admin; booked slots stay", gate="service")
    },
    "doctor-availability-exceptions": {
        "POST": only(DOCTOR, STAFF, ADMIN, note="that doctor, staff, admin", gate="service")
    },
    "doctor-queue": {"GET": only(DOCTOR, STAFF, ADMIN, note="a doctor: their own queue only")},
    "patient-list": {
        "GET": signed_in("doctors: their patients (care relation); staff, admin: all; a patient: themself")
    },
    "patient-detail": {"GET": signed_in("doctors: their patients (care relation); staff, admin: all; others 404")},
    "appointment-book": {"POST": only(PATIENT, STAFF, ADMIN, note="a patient books for themself")},
    "appointment-series": {"POST": only(PATIENT, STAFF, ADMIN, note="a patient books for themself; all or nothing")},
    "appointment-series-cancel": {
        "DELETE": only(PATIENT, STAFF, ADMIN, note="its patient, staff, admin; future booked occurrences")
    },
    "appointment-list": {"GET": signed_in("the caller's appointments; staff and admin: all")},
    "appointment-detail": {"GET": signed_in("its patient, its doctor, staff, admin; others 404")},
    "appointment-update": {
        "PUT": only(PATIENT, STAFF, ADMIN, note="its patient, staff, admin"),
        "PATCH": only(PATIENT, STAFF, ADMIN, note="its patient, staff, admin"),
    },
    "appointment-status": {
        "PUT": only(DOCTOR, STAFF, ADMIN, note="its doctor; staff and admin: checked_in and no_show only")
    },
    "appointment-cancel": {"DELETE": signed_in("its patient, its doctor, staff, admin; others 404")},
    "appointment-video": {
        "GET": only(PATIENT, DOCTOR, note="its patient, its doctor, inside the window; others 404; every grant audited")
    },
    "holds": {
        "GET": signed_in("the caller's live holds; staff and admin: all"),
        "POST": only(PATIENT, STAFF, ADMIN, note="a patient holds for themself"),
    },
    "hold-detail": {"DELETE": only(PATIENT, STAFF, ADMIN, note="its patient, staff, admin; others 404")},
    # --- waitlist -----------------------------------------------------------------
    "waitlist": {
        "GET": signed_in("the caller's entries; staff and admin: all"),
        "POST": only(PATIENT, STAFF, ADMIN, note="a patient joins for themself"),
    },
    "waitlist-entry": {"DELETE": only(PATIENT, STAFF, ADMIN, note="its patient, staff, admin; others 404")},
    "waitlist-accept": {"POST": only(PATIENT, note="its patient; others 404")},
    "waitlist-decline": {"POST": only(PATIENT, note="its patient; others 404")},
    # --- records: every read is audited -------------------------------------------
    "report-upload": {"POST": only(DOCTOR, note="a doctor with a care relation to the patient")},
    "report-detail": {"GET": only(PATIENT, DOCTOR, note="its patient, doctors with a care relation")},
    "report-download": {"GET": anyone("the short-lived signed link is the credential")},
    "report-delete": {"DELETE": only(DOCTOR, note="its doctor")},
    "report-patient-list": {
        "GET": only(PATIENT, DOCTOR, note="the patient: their own; doctors with a care relation", gate="service")
    },
    "prescription-create": {"POST": only(DOCTOR, note="a doctor with a care relation to the patient")},
    "prescription-detail": {"GET": only(PATIENT, DOCTOR, note="its patient, doctors with a care relation")},
    "prescription-update": {
        "PUT": only(DOCTOR, note="its doctor"),
        "PATCH": only(DOCTOR, note="its doctor"),
    },
    "prescription-delete": {"DELETE": only(DOCTOR, note="its doctor")},
    "prescription-patient-list": {
        "GET": only(PATIENT, DOCTOR, note="the patient: their own; doctors with a care relation", gate="service")
    },
    # --- notifications ------------------------------------------------------------
    "notification-send": {"POST": only(ADMIN)},
    "notification-list": {"GET": signed_in("the caller's own")},
    "notification-preferences": {"GET": signed_in("the caller's own"), "PUT": signed_in("the caller's own")},
    "notification-detail": {"GET": signed_in("its user; others 404")},
    "notification-read": {"PUT": signed_in("its user; others 404")},
    "message-send": {"POST": only(PATIENT, DOCTOR, note="between a patient and a doctor with a care relation")},
    "message-list": {"GET": signed_in("the caller's own")},
    "message-read": {"PUT": signed_in("its recipient; others 404")},
    "webhook-twilio-status": {"POST": anyone("Twilio's signed callback; the signature is the check")},
    "webhook-sendgrid-events": {"POST": anyone("SendGrid's signed callback; the signature is the check")},
    # --- billing --------------------------------------------------------------------
    "payment-charge": {
        "POST": only(PATIENT, STAFF, ADMIN, note="card: the appointment's patient; cash and insurance: staff, admin")
    },
    "payment-history": {"GET": signed_in("payments for the caller's appointments; staff and admin: all")},
    "payment-detail": {"GET": only(PATIENT, STAFF, ADMIN, note="its patient, staff, admin")},
    "payment-refund": {"POST": only(STAFF, ADMIN)},
    "payment-cancel": {"POST": only(STAFF, ADMIN, note="a pending card payment, cancelled at Stripe")},
    "invoice-generate": {"POST": only(DOCTOR, STAFF, ADMIN, note="a doctor: their own completed appointments")},
    "invoice-list": {"GET": only(PATIENT, STAFF, ADMIN, note="a patient's own; staff and admin: all")},
    "invoice-detail": {"GET": only(PATIENT, STAFF, ADMIN, note="its patient, staff, admin; JSON or PDF")},
    "doctor-fee": {"PUT": only(STAFF, ADMIN)},
    "stripe-webhook": {"POST": anyone("Stripe's signed callback; the signature is the check")},
    # --- realtime -------------------------------------------------------------------
    "display-token-list": {
        "GET": only(ADMIN),
        "POST": only(ADMIN, note="the token is shown once, at creation"),
    },
    "display-token-revoke": {"DELETE": only(ADMIN, note="its screens are disconnected")},
    "display-token-rotate": {"POST": only(ADMIN, note="a new token and expiry for the same screen")},
    # --- audit --------------------------------------------------------------------
    "audit-log-list": {"GET": only(ADMIN)},
    "audit-log-detail": {"GET": only(ADMIN)},
}

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class Endpoint:
    key: str  # the URL name, or the path for an unnamed URL
    path: str  # "/api/doctors/{doctor_id}/reviews/"
    methods: tuple[str, ...]
    view_class: type | None


def _route_to_path(route: str) -> str:
    """`api/doctors/<int:doctor_id>/` → `/api/doctors/{doctor_id}/`."""
    out, rest = "/", route
    while "<" in rest:
        before, _, after = rest.partition("<")
        inner, _, rest = after.partition(">")
        out += before + "{" + inner.split(":")[-1] + "}"
    return (out + rest).replace("^", "").replace("$", "")


def _walk(patterns: list, prefix: str) -> Iterator[tuple[str, URLPattern]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def api_endpoints() -> list[Endpoint]:
    """Every endpoint under /api/ in the URL configuration, with the methods its view answers."""
    from core.errors import api_not_found

    endpoints: list[Endpoint] = []
    for route, pattern in _walk(get_resolver().url_patterns, ""):
        if not route.startswith("api/") or pattern.callback is api_not_found:
            continue
        view_class = getattr(pattern.callback, "view_class", None) or getattr(pattern.callback, "cls", None)
        methods = tuple(m for m in METHODS if view_class is not None and hasattr(view_class, m.lower()))
        path = _route_to_path(route)
        endpoints.append(Endpoint(key=pattern.name or path, path=path, methods=methods, view_class=view_class))
    return endpoints


def _who(access: Access) -> str:
    if access.anyone:
        return "anyone"
    if access.roles == SIGNED_IN:
        return "signed in"
    return ", ".join(role for role in ROLES if role in access.roles)


def render_markdown() -> str:
    """docs/access-control.md, rendered from the table and the URL configuration."""
    lines = [
        "# Access control",
        "",
        "Generated from `tooling/access.py` by `python manage.py access_table`; a test fails when",
        'this page or the table falls behind the URL configuration. "Who" is the gate at the',
        "door: other signed-in roles get 403, anonymous callers 401. *Refused at the door*: the",
        "view's permission refuses other roles before reading the request; *the service*: the",
        "refusal comes after the body or the object is read, so a 400 or 404 may come first.",
        'Finer rules ("its patient", "a care relation") are enforced by the selectors, which',
        "answer 404 for what is not yours.",
        "The websocket (`/ws/`) authorises each topic on subscribe: see the contract, section 9.",
        "",
        "| Method | Path | Who | Refused at | Notes |",
        "| --- | --- | --- | --- | --- |",
    ]
    for endpoint in sorted(api_endpoints(), key=lambda e: e.path):
        for method in endpoint.methods:
            access = ACCESS.get(endpoint.key, {}).get(method)
            if access is None:
                lines.append(f"| {method} | `{endpoint.path}` | **missing from the table** | | |")
                continue
            gate = "" if access.anyone else ("the door" if access.gate == "view" else "the service")
            lines.append(f"| {method} | `{endpoint.path}` | {_who(access)} | {gate} | {access.note} |")
    return "\n".join(lines) + "\n"
