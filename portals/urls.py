from django.urls import path

from portals import views

urlpatterns = [
    path("", views.landing, name="landing"),
    path("patient/", views.patient_portal, name="patient-portal"),
    path("doctor/", views.doctor_dashboard, name="doctor-dashboard"),
]

# Served under /api/ beside the OpenAPI schema (config/urls.py).
api_urlpatterns = [
    path("asyncapi.yaml", views.AsyncApiYamlView.as_view(), name="asyncapi-yaml"),
    path("asyncapi/", views.AsyncApiPageView.as_view(), name="asyncapi"),
]
