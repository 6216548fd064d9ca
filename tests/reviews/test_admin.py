"""Reviews in the back office: admins hide and show them again; reception may only read."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AdminActionLog, AuditLog
from reviews.models import Review
from reviews.services import review_create
from tests.backoffice import admin_login, changelist_action
from tests.factories import appointment_at

pytestmark = pytest.mark.django_db

REVIEWS = "/admin/reviews/review/"


def test_admin_hides_a_review_and_it_is_logged(ada, alice, carol):
    appointment = appointment_at(
        doctor=carol, patient=alice, start=timezone.now() - timedelta(days=1), status="completed"
    )
    review = review_create(actor=alice, doctor=carol.doctor, appointment_id=appointment.pk, rating=1, comment="Spam")
    browser = admin_login(ada.email)
    assert changelist_action(browser, REVIEWS, "hide", [review.pk]).status_code == 302
    review.refresh_from_db()
    assert review.is_hidden
    assert review.hidden_by == ada
    assert AdminActionLog.objects.filter(action="review.hide", object_id=str(review.pk), admin=ada).exists()
    assert AuditLog.objects.filter(action="review.hidden", actor=ada).exists()

    assert changelist_action(browser, REVIEWS, "unhide", [review.pk]).status_code == 302
    assert not Review.objects.get(pk=review.pk).is_hidden


def test_reception_cannot_moderate_reviews(rita, alice, carol):
    appointment = appointment_at(
        doctor=carol, patient=alice, start=timezone.now() - timedelta(days=1), status="completed"
    )
    review = review_create(actor=alice, doctor=carol.doctor, appointment_id=appointment.pk, rating=2)
    browser = admin_login(rita.email)
    assert 'value="hide"' not in browser.get(REVIEWS).content.decode()
    changelist_action(browser, REVIEWS, "hide", [review.pk])
    assert not Review.objects.get(pk=review.pk).is_hidden
