from django.urls import path, re_path

from fhir_facade import api, errors

urlpatterns = [
    path("metadata", api.MetadataApi.as_view(), name="fhir-metadata"),
    path("Practitioner/<int:doctor_id>", api.PractitionerReadApi.as_view(), name="fhir-practitioner"),
    path("Schedule", api.ScheduleSearchApi.as_view(), name="fhir-schedule-search"),
    path("Schedule/<int:doctor_id>", api.ScheduleReadApi.as_view(), name="fhir-schedule"),
    path("Slot", api.SlotSearchApi.as_view(), name="fhir-slot-search"),
    path("Slot/<int:slot_id>", api.SlotReadApi.as_view(), name="fhir-slot"),
    path("Appointment", api.AppointmentSearchCreateApi.as_view(), name="fhir-appointment-search"),
    path("Appointment/<int:appointment_id>", api.AppointmentReadApi.as_view(), name="fhir-appointment"),
    path("Patient/<int:patient_id>", api.PatientReadApi.as_view(), name="fhir-patient"),
    # Anything else under /fhir/R4/ is a 404 OperationOutcome.
    re_path(r"^.*$", errors.not_found),
]
