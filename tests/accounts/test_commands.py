"""`createsuperuser --noinput` and `populate_db_master`."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts import demo
from accounts.models import Doctor, Patient, User
from audit.models import AuditLog
from core.roles import Role

pytestmark = pytest.mark.django_db


def test_createsuperuser_noinput_makes_an_admin(monkeypatch, anon):
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "Root@Clinic.test")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "Sup3r-Secret-Pass")
    call_command("createsuperuser", interactive=False, verbosity=0)
    user = User.objects.get(email="root@clinic.test")
    assert (user.role, user.is_staff, user.is_superuser, user.is_active) == (Role.ADMIN, True, True, True)
    entry = AuditLog.objects.get(action="user.created", object_id=str(user.id))
    assert entry.actor is None and entry.details == {"role": "admin"}
    response = anon.post(
        "/api/auth/login/", {"email": "root@clinic.test", "password": "Sup3r-Secret-Pass"}, format="json"
    )
    assert response.json()["user"]["role"] == "admin"


def test_createsuperuser_refuses_a_weak_password_cleanly(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "root@clinic.test")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "123")
    with pytest.raises(CommandError, match="password"):
        call_command("createsuperuser", interactive=False, verbosity=0)
    assert not User.objects.exists()


def test_populate_db_master_is_idempotent_and_signs_in(anon):
    call_command("populate_db_master", verbosity=0)
    call_command("populate_db_master", verbosity=0)
    assert User.objects.filter(role=Role.ADMIN).count() == 1
    assert User.objects.filter(role=Role.STAFF).count() == 1
    assert Doctor.objects.filter(is_approved=True).count() == 5
    assert Patient.objects.count() == 20
    for email in (demo.ADMIN["email"], demo.RECEPTION["email"], demo.DOCTORS[0]["email"], demo.patient_email(0)):
        response = anon.post("/api/auth/login/", {"email": email, "password": demo.DEMO_PASSWORD}, format="json")
        assert response.status_code == 200, (email, response.content)
