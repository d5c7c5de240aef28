"""Page-number pagination for every list endpoint (DESIGN.md section 8): `?page=2`,
`?page_size=100` (at most 200). Responses are `{count, next, previous, results}`."""

from functools import cache

from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response


class TesseraPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def paginated_response(*, view, request, items, serializer_class) -> Response:
    """Serialize one page of `items` (a queryset or a list) with the standard envelope.
    An out-of-range page is a 404."""
    paginator = TesseraPagination()
    page = paginator.paginate_queryset(items, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


@cache
def paginated(serializer_class) -> type[serializers.Serializer]:
    """The OpenAPI shape of a paginated list of `serializer_class` (one class per item
    serializer, so drf-spectacular names it once)."""
    name = serializer_class.__name__.replace("OutputSerializer", "").replace("Serializer", "")
    return type(
        f"Paginated{name}ListSerializer",
        (serializers.Serializer,),
        {
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": serializer_class(many=True),
        },
    )
