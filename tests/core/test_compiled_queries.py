"""core.queries.Compiled: a hot read compiled once gives what the queryset gives, call after call."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.models import Count, Q
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import AuthToken, Patient, User
from accounts.services import token_issue
from core import queries
from core.queries import Compiled, unique_or_none
from core.tokens import hash_token
from realtime.models import Event
from tests import factories

pytestmark = pytest.mark.django_db


def _patient_with_user() -> Compiled[Patient]:
    return Compiled(lambda pk: Patient.objects.select_related("user").filter(pk=pk, user__is_active=True))


def test_each_call_finds_its_own_row_with_its_select_related_objects() -> None:
    alice, bob = factories.PatientFactory(), factories.PatientFactory()
    read = _patient_with_user()
    for user in (alice, bob, alice):
        with CaptureQueriesContext(connection) as captured:
            patient = read.first(user.patient.pk)
            assert patient is not None
            assert patient.user.email == user.email  # no second query for the user
        assert len(captured.captured_queries) == 1
        assert patient == user.patient
        assert patient._state.adding is False and patient._state.db == "default"
    assert read.first(-1) is None


def test_the_sql_is_compiled_once(monkeypatch: pytest.MonkeyPatch) -> None:
    alice = factories.PatientFactory()
    read = _patient_with_user()
    read.first(alice.patient.pk)
    monkeypatch.setattr(queries, "VERIFY", False)  # the check compiles afresh on purpose

    def no_compiling(*args: object, **kwargs: object) -> None:
        raise AssertionError("compiled again")

    monkeypatch.setattr("django.db.models.sql.compiler.SQLCompiler.as_sql", no_compiling)
    patient = read.first(alice.patient.pk)
    assert patient is not None and patient.user.email == alice.email


def test_values_that_go_through_converters_come_back_converted() -> None:
    # psycopg hands jsonb to Django as text: without the field's converter `data` would be a str.
    data = {"doctor": 1, "start": "2026-12-07T09:00:00+00:00", "end": "2026-12-07T09:30:00+00:00"}
    stored = Event.objects.create(topic="doctor.1.availability", name="slot.booked", data=data)
    read = Compiled(lambda topic: Event.objects.filter(topic=topic))
    for _ in range(2):
        assert read.all(stored.topic)[0].data == data
        found = read.first(stored.topic)
        assert found is not None and found.data == data


def test_a_value_the_queryset_makes_itself_is_caught_when_verified() -> None:
    user = factories.PatientFactory()
    issued = token_issue(user=user)
    hidden_now = Compiled(lambda key_hash: AuthToken.objects.live().filter(key_hash=key_hash))
    with pytest.raises(AssertionError, match="hides a value of its own"):
        hidden_now.first(hash_token(issued.token))


def test_an_argument_equal_to_one_of_the_querys_own_values_runs_uncompiled_until_it_can_tell() -> None:
    user = factories.PatientFactory()
    issued = token_issue(user=user)
    now = timezone.now()
    # The argument equals the query's own parameter: where it goes cannot be told.
    read = Compiled(
        lambda key_hash, expires: AuthToken.objects.filter(
            key_hash=key_hash, expires_at__gt=now, created_at__lt=expires
        )
    )
    assert read.first(hash_token(issued.token), now) is not None
    assert not read._plans
    later = now + timedelta(days=1)
    assert read.first(hash_token(issued.token), later) is not None
    assert read._plans


@pytest.mark.django_db(transaction=True)
def test_a_lock_outside_a_transaction_is_refused_as_django_refuses_it() -> None:
    alice = factories.PatientFactory()
    locked = Compiled(lambda pk: Patient.objects.select_for_update().filter(pk=pk))
    with transaction.atomic():
        assert locked.first(alice.patient.pk) == alice.patient
    with pytest.raises(TransactionManagementError):
        locked.first(alice.patient.pk)


def test_it_reads_what_unique_or_none_reads() -> None:
    alice, bob = factories.PatientFactory(), factories.PatientFactory()
    User.objects.filter(pk=bob.pk).update(is_active=False)
    read = _patient_with_user()
    for pk in (alice.patient.pk, bob.patient.pk, alice.patient.pk, -1):
        assert read.first(pk) == unique_or_none(read.build(pk))
    assert read.first(bob.patient.pk) is None


def test_all_reads_every_row_in_the_querys_order() -> None:
    patients = [factories.PatientFactory().patient for _ in range(3)]
    read = Compiled(lambda first_pk: Patient.objects.filter(pk__gte=first_pk).order_by("-pk"))
    for _ in range(2):
        assert read.all(patients[0].pk) == patients[::-1]
        assert read.all(patients[2].pk) == [patients[2]]
    assert read.first(patients[1].pk) == patients[2]


def test_annotated_values_come_back_as_the_querysets_do(monkeypatch: pytest.MonkeyPatch) -> None:
    alice, bob = factories.PatientFactory(), factories.PatientFactory()
    token_issue(user=alice)
    token_issue(user=alice)
    read = Compiled(
        lambda pk, since: User.objects.filter(pk=pk).annotate(
            tokens=Count("auth_tokens"), recent=Count("auth_tokens", filter=Q(auth_tokens__created_at__gte=since))
        )
    )
    for user in (alice, bob, alice):
        since = timezone.now() - timedelta(days=1)
        expected = User.objects.filter(pk=user.pk).annotate(
            tokens=Count("auth_tokens"), recent=Count("auth_tokens", filter=Q(auth_tokens__created_at__gte=since))
        )[0]
        found = read.first(user.pk, since)
        assert found == user
        assert _counts(found) == _counts(expected) == ((2, 2) if user == alice else (0, 0))
    monkeypatch.setattr(queries, "VERIFY", False)
    monkeypatch.setattr("django.db.models.sql.compiler.SQLCompiler.as_sql", _no_compiling)
    later = read.first(alice.pk, timezone.now() + timedelta(days=1))  # compiled once, not again
    assert _counts(later) == (2, 0)


def _counts(user: User | None) -> tuple[int, int]:
    # The annotated values, as attributes of the instance (django-stubs do not see them).
    assert user is not None
    return vars(user)["tokens"], vars(user)["recent"]


def _no_compiling(*args: object, **kwargs: object) -> None:
    raise AssertionError("compiled again")


def test_values_list_rows_come_back_as_the_querysets_tuples(monkeypatch: pytest.MonkeyPatch) -> None:
    data = {"doctor": 1, "start": "2026-12-07T09:00:00+00:00", "end": "2026-12-07T09:30:00+00:00"}
    events = [Event.objects.create(topic=f"doctor.{n}.availability", name="slot.booked", data=data) for n in (1, 1, 2)]
    # The jsonb column goes through its converter; the other read has none to apply.
    converted = Compiled(lambda topic: Event.objects.filter(topic=topic).order_by("-id").values_list("id", "data"))
    plain = Compiled(lambda topic: Event.objects.filter(topic=topic).order_by("id").values_list("name", "id"))
    for _ in range(2):
        for topic in ("doctor.1.availability", "doctor.2.availability", "doctor.3.availability"):
            assert converted.all(topic) == list(converted.build(topic))
            assert plain.all(topic) == list(plain.build(topic))
    assert converted.first("doctor.1.availability") == (events[1].pk, data)
    monkeypatch.setattr(queries, "VERIFY", False)
    monkeypatch.setattr("django.db.models.sql.compiler.SQLCompiler.as_sql", _no_compiling)
    assert plain.all("doctor.2.availability") == [("slot.booked", events[2].pk)]  # compiled once, not again
