"""Two amendments of one prescription at once apply one after the other."""

import pytest

from audit.models import AuditLog
from records import services
from records.models import Medication
from tests.concurrency import run_together
from tests.records.helpers import MEDICATIONS


def _lines(name: str, count: int) -> list[dict]:
    return [
        {"name": f"{name} {i}", "dosage": "1", "frequency": "daily", "duration_days": 3, "notes": ""}
        for i in range(count)
    ]


@pytest.mark.django_db(transaction=True)
def test_concurrent_amendments_leave_exactly_one_list(carol, alice, treats):
    prescription = services.prescription_create(actor=carol, patient_id=alice.patient.id, medications=MEDICATIONS)
    edits = {"A": _lines("A", 3), "B": _lines("B", 4)}
    names = list(edits)
    results = run_together(
        len(names),
        lambda i: services.prescription_update(
            actor=carol, prescription_id=prescription.id, data={"medications": edits[names[i]]}
        ),
    )

    assert [r for r in results if isinstance(r, Exception)] == []
    live = list(Medication.objects.filter(prescription=prescription, replaced_at__isnull=True).order_by("position"))
    names = {line.name.split()[0] for line in live}
    assert len(names) == 1
    assert [line.position for line in live] == list(range(len(edits[names.pop()])))
    assert Medication.objects.filter(prescription=prescription).count() == len(MEDICATIONS) + 3 + 4
    assert AuditLog.objects.filter(action="prescription.updated", object_id=str(prescription.id)).count() == 2
