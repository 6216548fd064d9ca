"""Accounts endpoints (contract §2). Thin: parse, call a service or selector, serialize."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotAuthenticated
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import selectors, services
from accounts.authentication import request_user
from accounts.models import AuthToken
from accounts.serializers import (
    DoctorListFilter,
    DoctorRegisterInput,
    DoctorSerializer,
    LoginInput,
    PatientRegisterInput,
    SessionSerializer,
    UserCreateInput,
    UserDeleteInput,
    UserSerializer,
    UserUpdateInput,
)
from core.inputs import validated
from core.permissions import IsAdmin, LocalSignInEnabled
from core.schema import error_responses
from core.throttling import LoginThrottle, RegisterThrottle


def _session_response(session: services.Session, status_code: int) -> Response:
    return Response(
        SessionSerializer({"token": session.token, "expires_at": session.expires_at, "user": session.user}).data,
        status=status_code,
    )


class PatientRegisterApi(GenericAPIView):
    authentication_classes: list = []
    permission_classes = [LocalSignInEnabled]
    throttle_classes = [RegisterThrottle]

    @extend_schema(
        request=PatientRegisterInput,
        responses={
            201: SessionSerializer,
            403: OpenApiResponse(description="`local_sign_in_disabled`: password sign-up is off (Firebase only)."),
        },
    )
    def post(self, request: Request) -> Response:
        user = services.patient_register(**validated(PatientRegisterInput, request.data))
        return _session_response(services.token_issue(user=user), status.HTTP_201_CREATED)


class DoctorRegisterApi(GenericAPIView):
    authentication_classes: list = []
    permission_classes = [LocalSignInEnabled]
    throttle_classes = [RegisterThrottle]

    @extend_schema(
        request=DoctorRegisterInput,
        responses={
            201: SessionSerializer,
            403: OpenApiResponse(description="`local_sign_in_disabled`: password sign-up is off (Firebase only)."),
        },
    )
    def post(self, request: Request) -> Response:
        user = services.doctor_register(**validated(DoctorRegisterInput, request.data))
        return _session_response(services.token_issue(user=user), status.HTTP_201_CREATED)


class LoginApi(GenericAPIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginThrottle]

    @extend_schema(
        request=LoginInput,
        responses={
            200: SessionSerializer,
            401: OpenApiResponse(description="Sign-in refused; one message for every cause."),
        },
    )
    def post(self, request: Request) -> Response:
        data = validated(LoginInput, request.data)
        if data.get("id_token"):
            session = services.login_firebase(id_token=data["id_token"])
        else:
            session = services.login_local(email=data["email"], password=data["password"])
        return _session_response(session, status.HTTP_200_OK)


class LogoutApi(GenericAPIView):
    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        token = request.auth
        if not isinstance(token, AuthToken):
            raise NotAuthenticated()
        services.token_revoke(token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(GenericAPIView):
    @extend_schema(responses=UserSerializer)
    def get(self, request: Request) -> Response:
        return Response(UserSerializer(request.user).data)


class UserUpdateApi(GenericAPIView):
    @extend_schema(request=UserUpdateInput, responses=UserSerializer)
    def put(self, request: Request) -> Response:
        data = validated(UserUpdateInput, request.data, partial=True)
        user = services.user_update(actor=request_user(request), user=request_user(request), data=data)
        return Response(UserSerializer(user).data)

    @extend_schema(request=UserUpdateInput, responses=UserSerializer)
    def patch(self, request: Request) -> Response:
        return self.put(request)


class UserDeleteApi(GenericAPIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        request=UserDeleteInput,
        responses={
            204: None,
            **error_responses(
                (400, "invalid", "Invalid input."),
                (404, "not_found", "No user with this id."),
                (415, "unsupported_media_type", 'Unsupported media type "text/plain" in request.'),
            ),
        },
    )
    def delete(self, request: Request) -> Response:
        data = validated(UserDeleteInput, request.data)
        user = selectors.user_get_for_admin(user_id=data["user_id"])
        services.user_deactivate(actor=request_user(request), user=user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserCreateApi(GenericAPIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=UserCreateInput, responses={201: UserSerializer})
    def post(self, request: Request) -> Response:
        user = services.user_create(actor=request_user(request), **validated(UserCreateInput, request.data))
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


class DoctorListApi(GenericAPIView):
    serializer_class = DoctorSerializer

    @extend_schema(parameters=[DoctorListFilter], responses=DoctorSerializer(many=True))
    def get(self, request: Request) -> Response:
        filters = validated(DoctorListFilter, request.query_params)
        doctors = selectors.doctor_list(actor=request_user(request), **filters)
        page = self.paginate_queryset(doctors)
        return self.get_paginated_response(DoctorSerializer(page, many=True).data)


class DoctorDetailApi(GenericAPIView):
    @extend_schema(responses=DoctorSerializer)
    def get(self, request: Request, doctor_id: int) -> Response:
        return Response(DoctorSerializer(selectors.doctor_get(actor=request_user(request), doctor_id=doctor_id)).data)


class DoctorApproveApi(GenericAPIView):
    permission_classes = [IsAdmin]

    @extend_schema(request=None, responses=DoctorSerializer)
    def put(self, request: Request, doctor_id: int) -> Response:
        services.doctor_approve(actor=request_user(request), doctor=selectors.doctor_get_for_admin(doctor_id=doctor_id))
        return Response(DoctorSerializer(selectors.doctor_get_for_admin(doctor_id=doctor_id)).data)
