"""Every back-office page is an AuditedModelAdmin: no page can change data without a trail."""

from django.contrib import admin

from audit.backoffice import AuditedModelAdmin


def test_every_registered_admin_is_audited():
    plain = [
        model._meta.label
        for model, model_admin in admin.site._registry.items()
        if not isinstance(model_admin, AuditedModelAdmin)
    ]
    assert not plain


def test_bulk_delete_is_not_offered():
    assert "delete_selected" not in dict(admin.site.actions)
