"""Every kind of resource the facade returns validates against the R4 models, in one walk.

The walk makes every interaction the CapabilityStatement lists (and an error), and checks
that it met every resource type the facade can return. Each body is validated by the
`fhir.resources` R4B models (and the code bindings they leave to servers), and must come
back unchanged through the model: nothing the facade sends is dropped or coerced.
"""

import json

import pytest
from fhir.resources.R4B import get_fhir_model_class

from fhir_facade.capability import INTERACTIONS
from tests.fhir_facade.outcomes import fhir_json
from tests.scheduling.helpers import free_slots

pytestmark = pytest.mark.django_db

R4 = "/fhir/R4"


def _round_trip(resource: dict) -> None:
    model = get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    assert json.loads(model.model_dump_json(exclude_none=True)) == resource


def test_every_resource_the_facade_returns_is_valid_r4(client_for, anon, alice, rita, carol_hours):
    doctor, patient = carol_hours.doctor.id, alice.patient.id
    slot = free_slots(carol_hours)[0]
    booking = {
        "resourceType": "Appointment",
        "status": "booked",
        "slot": [{"reference": f"Slot/{slot.pk}"}],
        "participant": [{"actor": {"reference": f"Patient/{patient}"}, "status": "accepted"}],
        "reasonCode": [{"text": "Check-up"}],
    }
    created = client_for(alice).post(f"{R4}/Appointment", booking, format="json")
    assert created.status_code == 201
    appointment = created.json()["id"]
    staff = client_for(rita)
    responses = [
        created,
        anon.get(f"{R4}/metadata"),
        staff.get(f"{R4}/Practitioner/{doctor}"),
        staff.get(f"{R4}/Schedule/{doctor}"),
        staff.get(f"{R4}/Schedule", {"actor": f"Practitioner/{doctor}"}),
        staff.get(f"{R4}/Slot/{slot.pk}"),
        staff.get(f"{R4}/Slot", {"schedule": f"Schedule/{doctor}"}),
        staff.get(f"{R4}/Appointment/{appointment}"),
        staff.get(f"{R4}/Appointment", {"patient": f"Patient/{patient}"}),
        staff.get(f"{R4}/Patient/{patient}"),
        staff.get(f"{R4}/Slot", {"schedule": f"Schedule/{doctor}", "colour": "red"}),
        anon.get(f"{R4}/Appointment/{appointment}"),
        client_for(alice).post(f"{R4}/Appointment", booking, format="json"),
    ]
    met: set[str] = set()
    for response in responses:
        body = fhir_json(response)
        for resource in [body] + [entry["resource"] for entry in body.get("entry", [])]:
            _round_trip(resource)
            met.add(resource["resourceType"])
    assert met == {*INTERACTIONS, "CapabilityStatement", "Bundle", "OperationOutcome"}
