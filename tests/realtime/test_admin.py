"""Display devices in the back office: an admin issues a screen token once and revokes it."""

import re

import pytest

from audit.models import AdminActionLog, AuditLog
from core.tokens import hash_token
from realtime.models import DisplayToken
from tests.backoffice import admin_login, changelist_action, submit

pytestmark = pytest.mark.django_db

TOKENS = "/admin/realtime/displaytoken/"


def test_admin_issues_a_display_token_shown_once_and_revokes_it(ada):
    browser = admin_login(ada.email)
    response = submit(browser, f"{TOKENS}add/", {"name": "Waiting room"})
    assert response.status_code == 302, response.content.decode()[:3000]
    page = browser.get(response["Location"]).content.decode()
    raw = re.search(r"<code>(dsp_[^<]+)</code>", page).group(1)
    display = DisplayToken.objects.get(name="Waiting room")
    assert display.key_hash == hash_token(raw)
    assert raw not in browser.get(TOKENS).content.decode()  # shown once
    assert AuditLog.objects.filter(action="display_token.created", actor=ada).exists()
    assert AdminActionLog.objects.filter(action="displaytoken.added", admin=ada).exists()

    assert changelist_action(browser, TOKENS, "revoke", [display.pk]).status_code == 302
    display.refresh_from_db()
    assert display.revoked_at is not None
    assert AdminActionLog.objects.filter(action="displaytoken.revoke", admin=ada).exists()


def test_reception_does_not_manage_display_tokens(rita):
    browser = admin_login(rita.email)
    assert browser.get(TOKENS).status_code == 403
