"""Page-number pagination for every list endpoint (DESIGN.md section 8): `?page=2`,
`?page_size=100` (at most 200). Responses are `{count, next, previous, results}`.

A `page` or `page_size` that is not a positive whole number, or a `page_size` above the
maximum, is a 400 naming the parameter (never a silent fallback); a page past the end is
a 404."""

import re
from dataclasses import dataclass
from functools import cache

from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

LAST_PAGE = "last"
_DIGITS = re.compile(r"[0-9]{1,9}")


def positive_number(raw: str) -> int | None:
    """`raw` as a page number or size, or None when it is not one: ASCII digits only
    ("²".isdigit() is true, int("²") fails), at least 1, and few enough of them that a
    page's OFFSET or LIMIT stays within PostgreSQL's bigint. The API's rule, and the list
    page's (tenant_apps/tasks/pages.py)."""
    if not _DIGITS.fullmatch(raw) or int(raw) < 1:
        return None
    return int(raw)


def _positive_int(request, name: str, default: int, *, maximum: int | None = None, allow_last: bool = False):
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if allow_last and raw == LAST_PAGE:
        return LAST_PAGE
    value = positive_number(raw)
    if value is None:
        hint = " or “last”" if allow_last else ""
        raise ValidationError({name: [f"Use a whole number of at least 1{hint}."]})
    if maximum is not None and value > maximum:
        raise ValidationError({name: [f"At most {maximum}."]})
    return value


class TesseraPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request) -> int:
        return _positive_int(request, self.page_size_query_param, self.page_size, maximum=self.max_page_size)

    def get_page_number(self, request, paginator):
        number = _positive_int(request, self.page_query_param, 1, allow_last=True)
        return paginator.num_pages if number == LAST_PAGE else number


@dataclass(frozen=True)
class PageRequest:
    """The page a client asked for, validated (for lists that run their own query)."""

    number: int | str  # a page number, or LAST_PAGE
    size: int

    @classmethod
    def from_request(cls, request) -> "PageRequest":
        pagination = TesseraPagination
        size = _positive_int(
            request, pagination.page_size_query_param, pagination.page_size, maximum=pagination.max_page_size
        )
        number = _positive_int(request, pagination.page_query_param, 1, allow_last=True)
        return cls(number=number, size=size)

    def resolved(self, count: int) -> "PageRequest":
        """The same request with `last` turned into a number, given the total."""
        if self.number != LAST_PAGE:
            return self
        return PageRequest(number=max(1, -(-count // self.size)), size=self.size)

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


def page_response(*, request, page: PageRequest, count: int, results: list, more: bool = False, **extra) -> Response:
    """The standard envelope for one page of an already-counted list (`more`: the list
    goes on past `count`; `extra`: more top-level fields). A page past the end (other
    than the first page of an empty list) is a 404, as for every other list."""
    if page.number > 1 and page.offset >= count:
        raise NotFound("Invalid page.")
    url = request.build_absolute_uri()
    following = replace_query_param(url, "page", page.number + 1) if more or page.offset + page.size < count else None
    if page.number == 1:
        previous = None
    elif page.number == 2:
        previous = remove_query_param(url, "page")
    else:
        previous = replace_query_param(url, "page", page.number - 1)
    return Response({"count": count, **extra, "next": following, "previous": previous, "results": results})


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
