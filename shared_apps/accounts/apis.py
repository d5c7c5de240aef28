from allauth.headless.contrib.rest_framework.authentication import XSessionTokenAuthentication
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from shared_apps.accounts.models import ApiToken
from shared_apps.accounts.serializers import (
    ApiTokenCreatedOutputSerializer,
    ApiTokenCreateInputSerializer,
    ApiTokenOutputSerializer,
)
from shared_apps.accounts.tokens import api_token_create, api_token_revoke
from shared_apps.core.pagination import paginated, paginated_response

_TOKEN_EXAMPLE = {
    "id": 7,
    "name": "CI deploy script",
    "prefix": "tsr_Q2x9aLpW",
    "created_at": "2026-11-26T09:00:00Z",
    "expires_at": None,
    "last_used_at": "2026-11-26T10:12:00Z",
    "revoked_at": None,
}


class ApiTokenListCreateApi(APIView):
    """The requesting user's personal API tokens (root domain). Keys are never listed.
    Managed with a logged-in session only (a browser's cookie, or the `X-Session-Token`
    of the JSON login, docs/api.md): a leaked API token cannot mint new ones."""

    authentication_classes = [SessionAuthentication, XSessionTokenAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses=paginated(ApiTokenOutputSerializer),
        examples=[
            OpenApiExample("Tokens", value={"count": 1, "next": None, "previous": None, "results": [_TOKEN_EXAMPLE]})
        ],
    )
    def get(self, request):
        tokens = ApiToken.objects.filter(user=request.user)
        return paginated_response(view=self, request=request, items=tokens, serializer_class=ApiTokenOutputSerializer)

    @extend_schema(
        request=ApiTokenCreateInputSerializer,
        responses={201: ApiTokenCreatedOutputSerializer},
        examples=[
            OpenApiExample("Create", request_only=True, value={"name": "CI deploy script", "expires_at": None}),
            OpenApiExample(
                "Created (the key is shown once)",
                response_only=True,
                status_codes=["201"],
                value={**_TOKEN_EXAMPLE, "last_used_at": None, "key": "tsr_Q2x9aLpW…"},
            ),
        ],
    )
    def post(self, request):
        serializer = ApiTokenCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, key = api_token_create(user=request.user, actor=request.user, **serializer.validated_data)
        data = ApiTokenOutputSerializer(token).data | {"key": key}
        return Response(ApiTokenCreatedOutputSerializer(data).data, status=status.HTTP_201_CREATED)


class ApiTokenDetailApi(APIView):
    authentication_classes = [SessionAuthentication, XSessionTokenAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={204: OpenApiResponse(description="Revoked."), 404: OpenApiResponse()})
    def delete(self, request, token_id: int):
        """Revoke one of your tokens; requests with it fail from now on."""
        token = get_object_or_404(ApiToken.objects.select_related("user"), pk=token_id, user=request.user)
        api_token_revoke(token=token, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
