"""Request parsers for every API view (REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]).

Kept apart from `shared_apps.core.api`: DRF imports the parser classes while it builds
`APIView`, so this module must not import `rest_framework.views`."""

from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# Deepest nesting of arrays and objects a JSON body may have. Our deepest documented
# input is three levels; a body nested ~1,000 deep would otherwise exhaust the
# interpreter's recursion limit (in the parser or in validation) and answer 500.
JSON_MAX_DEPTH = 32
JSON_TOO_DEEP = _("JSON parse error - nested deeper than %(limit)d levels.")


def json_depth_exceeds(data, limit: int) -> bool:
    """Whether parsed JSON `data` nests arrays/objects deeper than `limit` (iterative:
    measuring a deep document must not recurse either)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser refusing bodies nested deeper than JSON_MAX_DEPTH with a 400
    (a RecursionError, anonymous endpoints included, was a 500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError(JSON_TOO_DEEP % {"limit": JSON_MAX_DEPTH}) from exc
        if json_depth_exceeds(data, JSON_MAX_DEPTH):
            raise ParseError(JSON_TOO_DEEP % {"limit": JSON_MAX_DEPTH})
        return data
