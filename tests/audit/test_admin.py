"""The audit trail in the back office: admins read it; nobody can add, change or delete."""

import pytest
from django.contrib import admin
from django.test import RequestFactory

from audit.admin import AdminActionLogAdmin, AuditLogAdmin
from audit.models import AdminActionLog, AuditLog
from tests.backoffice import admin_login, post_from

pytestmark = pytest.mark.django_db


def test_admin_reads_the_audit_log_but_cannot_change_it(ada, alice):
    entry = AuditLog.objects.filter(action="user.registered").first()
    browser = admin_login(ada.email)
    assert browser.get("/admin/audit/auditlog/").status_code == 200
    detail = browser.get(f"/admin/audit/auditlog/{entry.pk}/change/")
    assert detail.status_code == 200
    html = detail.content.decode()
    assert 'name="_save"' not in html
    assert "deletelink" not in html
    assert browser.get("/admin/audit/auditlog/add/").status_code == 403
    url = f"/admin/audit/auditlog/{entry.pk}/"
    assert post_from(browser, url + "change/", url + "delete/", {"post": "yes"}).status_code == 403
    assert post_from(browser, url + "change/", url + "change/", {"action": "x"}).status_code == 403
    assert AuditLog.objects.get(pk=entry.pk).action == "user.registered"


def test_action_log_is_read_only_for_superusers_too(ada):
    assert ada.is_superuser
    request = RequestFactory().get("/admin/")
    request.user = ada
    for model, admin_class in ((AuditLog, AuditLogAdmin), (AdminActionLog, AdminActionLogAdmin)):
        model_admin = admin_class(model, admin.site)
        assert model_admin.has_view_permission(request)
        assert not model_admin.has_add_permission(request)
        assert not model_admin.has_change_permission(request)
        assert not model_admin.has_delete_permission(request)
        assert model_admin.get_actions(request) == {}


def test_staff_do_not_see_the_audit_log(rita):
    browser = admin_login(rita.email)
    assert browser.get("/admin/audit/auditlog/").status_code == 403
    assert browser.get("/admin/audit/adminactionlog/").status_code == 403
    assert "/admin/audit/" not in browser.get("/admin/").content.decode()


def test_medical_records_are_not_in_the_back_office():
    assert not [model for model in admin.site._registry if model._meta.app_label == "records"]
