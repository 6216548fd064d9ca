from django.urls import path

from audit import api

urlpatterns = [
    path("audit-logs/list/", api.AuditLogListApi.as_view(), name="audit-log-list"),
    path("audit-logs/<int:log_id>/", api.AuditLogDetailApi.as_view(), name="audit-log-detail"),
]
