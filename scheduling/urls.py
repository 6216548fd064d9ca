from django.urls import path

from scheduling import api

urlpatterns = [
    path("doctors/<int:doctor_id>/availability/", api.AvailabilityApi.as_view(), name="doctor-availability"),
    path(
        "doctors/<int:doctor_id>/availability/rules/",
        api.RuleListCreateApi.as_view(),
        name="doctor-availability-rules",
    ),
    path(
        "doctors/<int:doctor_id>/availability/rules/<int:rule_id>/",
        api.RuleDeleteApi.as_view(),
        name="doctor-availability-rule",
    ),
    path(
        "doctors/<int:doctor_id>/availability/exceptions/",
        api.ExceptionCreateApi.as_view(),
        name="doctor-availability-exceptions",
    ),
    path("doctors/<int:doctor_id>/queue/", api.QueueApi.as_view(), name="doctor-queue"),
    path("patients/list/", api.PatientListApi.as_view(), name="patient-list"),
    path("patients/<int:patient_id>/", api.PatientDetailApi.as_view(), name="patient-detail"),
    path("appointments/book/", api.BookApi.as_view(), name="appointment-book"),
    path("appointments/series/", api.SeriesBookApi.as_view(), name="appointment-series"),
    path(
        "appointments/series/<int:series_id>/cancel/", api.SeriesCancelApi.as_view(), name="appointment-series-cancel"
    ),
    path("holds/", api.HoldListCreateApi.as_view(), name="holds"),
    path("holds/<int:hold_id>/", api.HoldDeleteApi.as_view(), name="hold-detail"),
    path("appointments/list/", api.AppointmentListApi.as_view(), name="appointment-list"),
    path("appointments/<int:appointment_id>/", api.AppointmentDetailApi.as_view(), name="appointment-detail"),
    path("appointments/<int:appointment_id>/update/", api.AppointmentUpdateApi.as_view(), name="appointment-update"),
    path("appointments/<int:appointment_id>/status/", api.AppointmentStatusApi.as_view(), name="appointment-status"),
    path("appointments/<int:appointment_id>/cancel/", api.AppointmentCancelApi.as_view(), name="appointment-cancel"),
]
