"""Display token endpoints (added to the contract): admins create, list and revoke them."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import request_user
from core.inputs import validated
from core.permissions import IsAdmin
from realtime import selectors, services
from realtime.serializers import DisplayTokenCreateInput, DisplayTokenSerializer, IssuedDisplayTokenSerializer


class DisplayTokenListCreateApi(GenericAPIView):
    permission_classes = [IsAdmin]
    serializer_class = DisplayTokenSerializer

    @extend_schema(responses={200: DisplayTokenSerializer(many=True)})
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.display_token_list())
        return self.get_paginated_response(DisplayTokenSerializer(page, many=True).data)

    @extend_schema(request=DisplayTokenCreateInput, responses={201: IssuedDisplayTokenSerializer})
    def post(self, request: Request) -> Response:
        data = validated(DisplayTokenCreateInput, request.data)
        issued = services.display_token_create(actor=request_user(request), name=data["name"])
        body = {**DisplayTokenSerializer(issued.display).data, "token": issued.token}
        return Response(body, status=status.HTTP_201_CREATED)


class DisplayTokenRevokeApi(GenericAPIView):
    permission_classes = [IsAdmin]
    serializer_class = DisplayTokenSerializer

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, token_id: int) -> Response:
        services.display_token_revoke(
            actor=request_user(request), display=selectors.display_token_get(token_id=token_id)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class DisplayTokenRotateApi(GenericAPIView):
    permission_classes = [IsAdmin]
    serializer_class = DisplayTokenSerializer

    @extend_schema(
        request=None,
        responses={
            201: IssuedDisplayTokenSerializer,
            404: OpenApiResponse(description="No such display token."),
            409: OpenApiResponse(description="`display_token_revoked`: issue a new one instead."),
        },
    )
    def post(self, request: Request, token_id: int) -> Response:
        """A new token and expiry for the same screen; the old token stops working at once."""
        display = selectors.display_token_get(token_id=token_id)
        issued = services.display_token_rotate(actor=request_user(request), display=display)
        body = {**DisplayTokenSerializer(issued.display).data, "token": issued.token}
        return Response(body, status=status.HTTP_201_CREATED)
