"""Driving the Django admin as a person would: the login page, forms with their CSRF token."""

import re

from django.test import Client

from tests.factories import PASSWORD

_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def csrf_token(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def admin_login(email: str, password: str = PASSWORD) -> Client:
    """A browser-like client signed in through /admin/login/ (CSRF checks on)."""
    client = Client(enforce_csrf_checks=True)
    page = client.get("/admin/login/?next=/admin/")
    assert page.status_code == 200
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": email, "password": password, "csrfmiddlewaretoken": csrf_token(page.content.decode())},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == "/admin/"
    return client


def submit(client: Client, url: str, data: dict) -> object:
    """GET a form page, then POST `data` with the page's CSRF token, as a browser would."""
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    return client.post(url, {**data, "csrfmiddlewaretoken": csrf_token(page.content.decode())})


def changelist_action(client: Client, url: str, action: str, ids: list[int]) -> object:
    """Tick objects on a change list and run an action on them."""
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    return client.post(
        url,
        {
            "action": action,
            "_selected_action": [str(i) for i in ids],
            "index": "0",
            "csrfmiddlewaretoken": csrf_token(page.content.decode()),
        },
    )


def post_from(client: Client, page_url: str, url: str, data: dict) -> object:
    """POST to `url` with the CSRF token of `page_url` (a form the user could forge)."""
    page = client.get(page_url)
    return client.post(url, {**data, "csrfmiddlewaretoken": csrf_token(page.content.decode())})
