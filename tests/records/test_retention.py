"""How long records are kept: RECORDS_RETENTION_YEARS from the clinic's day of writing."""

from datetime import UTC, date, datetime

import pytest

from clinic.registry import clear_cache
from clinic.services import clinic_setting_set
from records import services
from tests.records.helpers import MEDICATIONS, pdf_bytes, upload


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("zone", "kept_until"),
    [("UTC", date(2036, 12, 31)), ("Pacific/Kiritimati", date(2037, 1, 1)), ("Pacific/Pago_Pago", date(2036, 12, 30))],
)
def test_retention_counts_from_the_clinics_day(settings, time_machine, ada, carol, alice, treats, zone, kept_until):
    # 10:30 UTC on 31 December 2026: already 1 January 2027 in Kiritimati, still the 30th in Pago Pago.
    time_machine.move_to(datetime(2026, 12, 31, 10, 30, tzinfo=UTC))
    settings.RECORDS_RETENTION_YEARS = 10
    clinic_setting_set(actor=ada, key="timezone", value=zone)
    clear_cache()
    prescription = services.prescription_create(
        actor=carol, patient_id=alice.patient.id, appointment_id=treats.id, medications=MEDICATIONS
    )
    report = services.report_upload(
        actor=carol, patient_id=alice.patient.id, appointment_id=treats.id, title="Scan", upload=upload(pdf_bytes())
    )
    assert (prescription.retain_until, report.retain_until) == (kept_until, kept_until)
