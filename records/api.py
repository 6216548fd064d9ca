"""Medical records endpoints (contract §5). Thin: parse, call a service or selector, serialize.

Role and care-relation checks live in the selectors and services (records.access), where
each refusal is audited; here only the unauthenticated attempts are noted.
"""

from django.conf import settings
from django.http import HttpResponse, HttpResponseRedirect
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import request_user
from audit.services import audit_record
from core.inputs import validated
from core.schema import error_responses
from records import access, files, selectors, services
from records.serializers import (
    BreakGlassInput,
    PrescriptionCreateInput,
    PrescriptionSerializer,
    PrescriptionUpdateInput,
    ReportSerializer,
    ReportUploadInput,
)


class RecordsApi(GenericAPIView):
    # Notes in the audit log every attempt on a record made without a valid token.
    record_kind = selectors.REPORT

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            audit_record(
                actor=None,
                action=f"{self.record_kind}.access_refused",
                details={"operation": self.request.method, "path": self.request.path[:200], "reason": exc.default_code},
            )
        return super().handle_exception(exc)


class ReportUploadApi(RecordsApi):
    """Upload a report file for a patient the doctor treats (PDF, PNG or JPEG, judged by content)."""

    parser_classes = [MultiPartParser]

    @extend_schema(
        request=ReportUploadInput,
        responses={
            201: ReportSerializer,
            413: OpenApiResponse(description="The file is larger than RECORDS_MAX_UPLOAD_BYTES."),
            415: OpenApiResponse(description="Not a PDF, PNG or JPEG by content, or a Content-Type that lies."),
            **error_responses((404, "not_found", "No such patient of yours (no care relation).")),
        },
    )
    def post(self, request: Request) -> Response:
        access.require_doctor(actor=request_user(request), kind=selectors.REPORT, operation="upload")
        # Installed before the body is parsed, so an oversized file is refused while it is
        # read, not after it has been spooled to disk.
        request.upload_handlers.insert(0, files.SizeLimitUploadHandler(settings.RECORDS_MAX_UPLOAD_BYTES, request))
        try:
            data = validated(ReportUploadInput, request.data)
        except files.FileTooLarge as exc:
            services.report_upload_refused(actor=request_user(request), error=exc)
        report = services.report_upload(
            actor=request_user(request),
            patient_id=data["patient"],
            appointment_id=data.get("appointment"),
            title=data["title"],
            description=data["description"],
            upload=data["file"],
        )
        return Response(ReportSerializer(report, context={"request": request}).data, status=status.HTTP_201_CREATED)


class ReportDetailApi(RecordsApi):
    """One report: its patient, doctors with a care relation, or an admin giving `reason` (break-glass)."""

    @extend_schema(parameters=[BreakGlassInput], responses=ReportSerializer)
    def get(self, request: Request, report_id: int) -> Response:
        reason = validated(BreakGlassInput, request.query_params)["reason"]
        read = selectors.report_get(actor=request_user(request), report_id=report_id, reason=reason)
        return Response(
            ReportSerializer(read.record, context={"request": request, "break_glass": read.break_glass}).data
        )


class ReportDownloadApi(RecordsApi):
    """The file behind a report's `download_url`; the signed link is the credential.

    Local files are sent from here, after their SHA-256 is checked, as an attachment with
    `X-Content-Type-Options: nosniff`; on S3 the answer is a redirect to a presigned URL.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[OpenApiParameter("sig", OpenApiTypes.STR, required=True, description="The link's signature.")],
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            302: OpenApiResponse(description="Redirect to a presigned S3 URL."),
            401: OpenApiResponse(description="No signature."),
            403: OpenApiResponse(description="A tampered or expired link (`link_invalid`, `link_expired`)."),
            404: OpenApiResponse(description="No such report, or the link's user may no longer read it."),
            409: OpenApiResponse(description="The stored file fails its SHA-256 check (`integrity_check_failed`)."),
        },
    )
    def get(self, request: Request, report_id: int) -> HttpResponse:
        token = request.query_params.get("sig", "")
        if not token:
            raise exceptions.NotAuthenticated("This download needs a signed link.")
        found = selectors.report_file(token=token, report_id=report_id)
        if found.redirect_url is not None:
            response: HttpResponse = HttpResponseRedirect(found.redirect_url)
        else:
            response = HttpResponse(found.data, content_type=found.report.content_type)
            response["Content-Disposition"] = found.filename_header
            response["Content-Length"] = str(found.report.size)
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        response["Referrer-Policy"] = "no-referrer"
        return response

    def get_authenticate_header(self, request: Request) -> str:
        return 'Signature realm="report-download"'


class ReportPatientListApi(RecordsApi):
    """A patient's reports, for doctors with a care relation and (added) the patient themself."""

    serializer_class = ReportSerializer

    @extend_schema(responses=ReportSerializer(many=True))
    def get(self, request: Request, patient_id: int) -> Response:
        reports = selectors.report_list_for_patient(actor=request_user(request), patient_id=patient_id)
        page = self.paginate_queryset(reports)
        access.audit_list_read(
            actor=request_user(request), kind=selectors.REPORT, patient_id=patient_id, ids=[r.id for r in page or []]
        )
        return self.get_paginated_response(ReportSerializer(page, many=True, context={"request": request}).data)


class ReportDeleteApi(RecordsApi):
    """Delete a report (its author): hidden from the API, kept for the retention period."""

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, report_id: int) -> Response:
        services.report_delete(actor=request_user(request), report_id=report_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PrescriptionApi(RecordsApi):
    record_kind = selectors.PRESCRIPTION


class PrescriptionCreateApi(PrescriptionApi):
    """Write a prescription for a patient the doctor treats."""

    @extend_schema(
        request=PrescriptionCreateInput,
        responses={
            201: PrescriptionSerializer,
            **error_responses((404, "not_found", "No such patient of yours (no care relation).")),
        },
    )
    def post(self, request: Request) -> Response:
        # The role first: whoever may never write prescriptions gets 403, not a 400 about the body.
        access.require_doctor(actor=request_user(request), kind=selectors.PRESCRIPTION, operation="create")
        data = validated(PrescriptionCreateInput, request.data)
        prescription = services.prescription_create(
            actor=request_user(request),
            patient_id=data["patient"],
            appointment_id=data.get("appointment"),
            medications=data["medications"],
            instructions=data["instructions"],
        )
        return Response(PrescriptionSerializer(prescription).data, status=status.HTTP_201_CREATED)


class PrescriptionDetailApi(PrescriptionApi):
    """One prescription: its patient, doctors with a care relation, or an admin giving `reason`."""

    @extend_schema(parameters=[BreakGlassInput], responses=PrescriptionSerializer)
    def get(self, request: Request, prescription_id: int) -> Response:
        reason = validated(BreakGlassInput, request.query_params)["reason"]
        read = selectors.prescription_get(actor=request_user(request), prescription_id=prescription_id, reason=reason)
        return Response(PrescriptionSerializer(read.record).data)


class PrescriptionPatientListApi(PrescriptionApi):
    """A patient's prescriptions, for doctors with a care relation and (added) the patient themself."""

    serializer_class = PrescriptionSerializer

    @extend_schema(responses=PrescriptionSerializer(many=True))
    def get(self, request: Request, patient_id: int) -> Response:
        prescriptions = selectors.prescription_list_for_patient(actor=request_user(request), patient_id=patient_id)
        page = self.paginate_queryset(prescriptions)
        access.audit_list_read(
            actor=request_user(request),
            kind=selectors.PRESCRIPTION,
            patient_id=patient_id,
            ids=[p.id for p in page or []],
        )
        return self.get_paginated_response(PrescriptionSerializer(page, many=True).data)


class PrescriptionUpdateApi(PrescriptionApi):
    """Amend a prescription (its author); `medications`, when given, replaces the whole list."""

    @extend_schema(request=PrescriptionUpdateInput, responses=PrescriptionSerializer)
    def put(self, request: Request, prescription_id: int) -> Response:
        access.require_doctor(
            actor=request_user(request),
            kind=selectors.PRESCRIPTION,
            operation="update",
            object_type="prescription",
            object_id=prescription_id,
        )
        data = validated(PrescriptionUpdateInput, request.data)
        prescription = services.prescription_update(
            actor=request_user(request), prescription_id=prescription_id, data=data
        )
        return Response(PrescriptionSerializer(prescription).data)

    @extend_schema(request=PrescriptionUpdateInput, responses=PrescriptionSerializer)
    def patch(self, request: Request, prescription_id: int) -> Response:
        return self.put(request, prescription_id)


class PrescriptionDeleteApi(PrescriptionApi):
    """Delete a prescription (its author): hidden from the API, kept for the retention period."""

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, prescription_id: int) -> Response:
        services.prescription_delete(actor=request_user(request), prescription_id=prescription_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
