"""The CapabilityStatement `metadata` answers: built from the same declarations the views obey."""

from datetime import date

from fhir.resources.R4B.capabilitystatement import (
    CapabilityStatement,
    CapabilityStatementRest,
    CapabilityStatementRestResource,
    CapabilityStatementRestResourceInteraction,
    CapabilityStatementRestResourceSearchParam,
    CapabilityStatementRestSecurity,
    CapabilityStatementSoftware,
)

from fhir_facade.rendering import FHIR_JSON
from fhir_facade.search import SEARCH_PARAMS

# When this statement last changed (CapabilityStatement.date).
PUBLISHED = date(2026, 12, 1)

# What each resource type answers; SEARCH_PARAMS says which have `search-type`.
INTERACTIONS: dict[str, tuple[str, ...]] = {
    "Practitioner": ("read",),
    "Schedule": ("read", "search-type"),
    "Slot": ("read", "search-type"),
    "Appointment": ("read", "search-type", "create"),
    "Patient": ("read",),
}

_DOCUMENTATION = {
    "Practitioner": "A doctor of the clinic (an unapproved one: staff, admin and that doctor only).",
    "Schedule": "One per doctor, with the doctor's id.",
    "Slot": "The doctor's slots as REST availability shows them: free or busy; past slots left out.",
    "Appointment": (
        "Its patient, its doctor, staff and admin (others: 404); reads are audited. create books "
        "`slot: [{reference: Slot/{id}}]` for the Patient participant exactly as /api/appointments/book/."
    ),
    "Patient": "The patient, staff, admin and doctors with a care relation; reads are audited.",
}


def capability_statement(*, base_url: str) -> CapabilityStatement:
    resources = [
        CapabilityStatementRestResource(
            type=resource_type,
            documentation=_DOCUMENTATION[resource_type],
            interaction=[CapabilityStatementRestResourceInteraction(code=code) for code in interactions],
            searchParam=[
                CapabilityStatementRestResourceSearchParam(
                    name=param.name, type=param.type, documentation=param.documentation
                )
                for param in SEARCH_PARAMS.get(resource_type, ())
            ]
            or None,
        )
        for resource_type, interactions in INTERACTIONS.items()
    ]
    return CapabilityStatement(
        status="active",
        date=PUBLISHED,
        kind="instance",
        software=CapabilityStatementSoftware(name="Clinic platform FHIR facade"),
        implementation={"description": "Clinic scheduling over FHIR R4", "url": base_url.rstrip("/")},
        fhirVersion="4.0.1",
        format=[FHIR_JSON, "json"],
        rest=[
            CapabilityStatementRest(
                mode="server",
                security=CapabilityStatementRestSecurity(
                    description="Authorization: Bearer <token>, the tokens of /api/auth/login/ (metadata: none)."
                ),
                resource=resources,
            )
        ],
    )
