"""Clinic settings over the API (added to the contract): read by everyone, changed by admins."""

from decimal import Decimal

from drf_spectacular.utils import extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from clinic import selectors
from clinic.serializers import ClinicSettingInput, ClinicSettingSerializer
from clinic.services import clinic_setting_set
from core.inputs import validated
from core.permissions import IsAdmin


def _json(view: selectors.SettingView) -> dict:
    data = ClinicSettingSerializer(view).data
    # Money and rates travel as decimal strings (contract §1), like the stored form.
    for field in ("value", "default"):
        if isinstance(data[field], Decimal):
            data[field] = str(data[field])
    return data


class ClinicSettingListApi(GenericAPIView):
    """Public settings need no sign-in (portals read the time zone before anyone signs in)."""

    permission_classes = [AllowAny]
    pagination_class = None

    @extend_schema(responses=ClinicSettingSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response([_json(view) for view in selectors.clinic_setting_list(actor=request.user)])


class ClinicSettingUpdateApi(GenericAPIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=ClinicSettingInput, responses=ClinicSettingSerializer)
    def put(self, request: Request, key: str) -> Response:
        data = validated(ClinicSettingInput, request.data)
        clinic_setting_set(actor=request.user, key=key, value=data["value"])
        return Response(_json(selectors.clinic_setting_get(key=key)))
