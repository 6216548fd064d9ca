"""Notification, message and provider-webhook endpoints (contract §6, plus the added
preferences, messages and webhooks). Thin: parse, call a service or selector, serialize."""

import json
from collections.abc import Mapping

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import request_user
from core.exceptions import DomainError, Forbidden, ValidationFailed
from core.inputs import validated
from core.permissions import IsAdmin, IsPatientOrDoctor
from core.schema import error_responses
from core.throttling import ScopedRateThrottle
from notifications import selectors, services, webhooks
from notifications.serializers import (
    MessageListFilter,
    MessageSendInput,
    MessageSerializer,
    NotificationPreferenceSerializer,
    NotificationSendInput,
    NotificationSerializer,
)


class RecipientSendThrottle(ScopedRateThrottle):
    """Admin sends, counted per recipient: a flood to one person is stopped whoever sends it."""

    scope = "send"

    def ident(self, request: Request) -> str:
        user = request.data.get("user") if hasattr(request.data, "get") else None
        return f"recipient:{user}"


class SenderThrottle(ScopedRateThrottle):
    """Messages, counted per signed-in sender."""

    scope = "send"

    def ident(self, request: Request) -> str:
        return f"user:{request.user.pk}"


class NotificationSendApi(GenericAPIView):
    permission_classes = [IsAdmin]
    throttle_classes = [RecipientSendThrottle]

    @extend_schema(request=NotificationSendInput, responses={202: NotificationSerializer})
    def post(self, request: Request) -> Response:
        data = validated(NotificationSendInput, request.data)
        notification = services.notification_send(actor=request_user(request), **data)
        return Response(NotificationSerializer(notification).data, status=status.HTTP_202_ACCEPTED)


class NotificationListApi(GenericAPIView):
    @extend_schema(responses=NotificationSerializer(many=True))
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.notification_list(actor=request_user(request)))
        return self.get_paginated_response(NotificationSerializer(page, many=True).data)


class NotificationDetailApi(GenericAPIView):
    @extend_schema(responses=NotificationSerializer)
    def get(self, request: Request, notification_id: int) -> Response:
        notification = selectors.notification_get(actor=request_user(request), notification_id=notification_id)
        return Response(NotificationSerializer(notification).data)


class NotificationReadApi(GenericAPIView):
    @extend_schema(request=None, responses=NotificationSerializer)
    def put(self, request: Request, notification_id: int) -> Response:
        notification = selectors.notification_get(actor=request_user(request), notification_id=notification_id)
        notification = services.notification_mark_read(actor=request_user(request), notification=notification)
        return Response(NotificationSerializer(notification).data)


class NotificationPreferenceApi(GenericAPIView):
    @extend_schema(responses=NotificationPreferenceSerializer)
    def get(self, request: Request) -> Response:
        return Response(NotificationPreferenceSerializer(selectors.preference_get(user=request_user(request))).data)

    @extend_schema(request=NotificationPreferenceSerializer, responses=NotificationPreferenceSerializer)
    def put(self, request: Request) -> Response:
        changes = validated(NotificationPreferenceSerializer, request.data, partial=True)
        if not changes:
            raise ValidationFailed(fields={"non_field_errors": ["Give at least one of sms, email, in_app."]})
        preference = services.preference_update(
            actor=request_user(request), user=request_user(request), changes=changes
        )
        return Response(NotificationPreferenceSerializer(preference).data)


class MessageSendApi(GenericAPIView):
    permission_classes = [IsPatientOrDoctor]
    throttle_classes = [SenderThrottle]

    @extend_schema(
        request=MessageSendInput,
        responses={
            201: MessageSerializer,
            **error_responses((404, "not_found", "No such recipient.")),
        },
    )
    def post(self, request: Request) -> Response:
        data = validated(MessageSendInput, request.data)
        recipient = selectors.message_counterpart_get(actor=request_user(request), user_id=data["recipient"])
        message = services.message_send(sender=request_user(request), recipient=recipient, body=data["body"])
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)


class MessageListApi(GenericAPIView):
    @extend_schema(parameters=[MessageListFilter], responses=MessageSerializer(many=True))
    def get(self, request: Request) -> Response:
        filters = validated(MessageListFilter, request.query_params)
        page = self.paginate_queryset(selectors.message_list(actor=request_user(request), **filters))
        return self.get_paginated_response(MessageSerializer(page, many=True).data)


class MessageReadApi(GenericAPIView):
    @extend_schema(request=None, responses=MessageSerializer)
    def put(self, request: Request, message_id: int) -> Response:
        message = selectors.message_get_for_recipient(actor=request_user(request), message_id=message_id)
        return Response(
            MessageSerializer(services.message_mark_read(actor=request_user(request), message=message)).data
        )


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "payload_too_large"
    default_detail = "The request body is too large."


def _signature_refused() -> Forbidden:
    return Forbidden("The webhook signature is missing, invalid or too old.", code="invalid_signature")


class TwilioStatusWebhookApi(GenericAPIView):
    """Twilio's message status callback, checked with its RequestValidator."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [FormParser]

    @extend_schema(
        request={"application/x-www-form-urlencoded": {"type": "object"}},
        parameters=[OpenApiParameter(webhooks.TWILIO_SIGNATURE_HEADER, location="header", required=True)],
        responses={
            204: None,
            **error_responses((403, "invalid_signature", "The webhook signature is missing, invalid or too old.")),
        },
    )
    def post(self, request: Request) -> Response:
        form = request.data
        if not isinstance(form, Mapping):
            raise ValidationFailed(fields={"MessageSid": ["MessageSid and MessageStatus are required."]})
        url = settings.TWILIO_STATUS_CALLBACK_URL or request.build_absolute_uri()
        signature = request.headers.get(webhooks.TWILIO_SIGNATURE_HEADER, "")
        if not webhooks.twilio_signature_valid(url=url, params=form, signature=signature):
            raise _signature_refused()
        sid = form.get("MessageSid", "")
        message_status = form.get("MessageStatus", "")
        if not sid or not message_status:
            raise ValidationFailed(fields={"MessageSid": ["MessageSid and MessageStatus are required."]})
        # Twilio marks each webhook request with an idempotency token; a replay carries the same one.
        event_id = request.headers.get("I-Twilio-Idempotency-Token") or f"{sid}:{message_status}"
        services.twilio_status_record(
            event_id=event_id, message_sid=sid, status=message_status, error_code=form.get("ErrorCode", "")
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class SendGridEventWebhookApi(GenericAPIView):
    """SendGrid's signed event webhook: a JSON list of events."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    # The signature covers the raw bytes: read request.body, never a re-encoded parse.
    parser_classes = [JSONParser]

    @extend_schema(
        request={"application/json": {"type": "array", "items": {"type": "object"}}},
        parameters=[
            OpenApiParameter(webhooks.SENDGRID_SIGNATURE_HEADER, location="header", required=True),
            OpenApiParameter(webhooks.SENDGRID_TIMESTAMP_HEADER, location="header", required=True),
        ],
        responses={
            204: None,
            **error_responses(
                (403, "invalid_signature", "The webhook signature is missing, invalid or too old."),
                PayloadTooLarge,
            ),
        },
    )
    def post(self, request: Request) -> Response:
        try:
            body = request.body
        except RequestDataTooBig as exc:
            raise PayloadTooLarge() from exc
        if not webhooks.sendgrid_signature_valid(
            body=body,
            signature=request.headers.get(webhooks.SENDGRID_SIGNATURE_HEADER, ""),
            timestamp=request.headers.get(webhooks.SENDGRID_TIMESTAMP_HEADER, ""),
        ):
            raise _signature_refused()
        try:
            events = json.loads(body)
        except ValueError:
            events = None
        if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
            raise ValidationFailed(fields={"non_field_errors": ["Expected a JSON list of events."]})
        services.sendgrid_events_record(events=events)
        return Response(status=status.HTTP_204_NO_CONTENT)
