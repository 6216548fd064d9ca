from django.urls import path

from records import api

urlpatterns = [
    path("reports/upload/", api.ReportUploadApi.as_view(), name="report-upload"),
    path("reports/<int:report_id>/", api.ReportDetailApi.as_view(), name="report-detail"),
    path("reports/<int:report_id>/download/", api.ReportDownloadApi.as_view(), name="report-download"),
    path("reports/<int:report_id>/delete/", api.ReportDeleteApi.as_view(), name="report-delete"),
    path("reports/patient/<int:patient_id>/", api.ReportPatientListApi.as_view(), name="report-patient-list"),
    path("prescriptions/create/", api.PrescriptionCreateApi.as_view(), name="prescription-create"),
    path("prescriptions/<int:prescription_id>/", api.PrescriptionDetailApi.as_view(), name="prescription-detail"),
    path(
        "prescriptions/<int:prescription_id>/update/", api.PrescriptionUpdateApi.as_view(), name="prescription-update"
    ),
    path(
        "prescriptions/<int:prescription_id>/delete/", api.PrescriptionDeleteApi.as_view(), name="prescription-delete"
    ),
    path(
        "prescriptions/patient/<int:patient_id>/",
        api.PrescriptionPatientListApi.as_view(),
        name="prescription-patient-list",
    ),
]
