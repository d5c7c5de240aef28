"""The OpenAPI description of error responses, in one place for every API view.

`AutoSchema` (REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]) adds to each operation the errors
its view can answer, derived from what the view is made of:

- 400 everywhere: input that fails validation, and requests the guards refuse before any
  view runs (JSON nested too deep, a NUL character in the query string or a cookie);
- 401 where API tokens are accepted (a missing, bad, revoked or expired token), with 429
  after too many failed token attempts from one address;
- 403 where a permission is checked, or a session authenticates (CSRF on writes);
- 404 where the path names an object, and on paginated lists (a page past the end);
- 415 where a body is read (a Content-Type the view has no parser for);
- whatever the view declares itself with `extend_schema(responses=...)` (402, 409, 412,
  413, 502, 503): a declared error without a body gets the body of its status here.

`billing_read_only_hook` (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]) adds 402 to the
writes of the organisation API (shared_apps.billing.middleware answers them 402 while the
organisation is past due; plan limits answer 402 too).

The bodies are DRF's and ours: `{"detail": "...", "code"?: "..."}` for most errors,
`{"field": ["message", ...], ...}` for field errors, and `ServiceRefusal.as_dict()` (a
`code` plus the refusal's details) for 402.
"""

from django.conf import settings
from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny

from shared_apps.accounts.tokens import ApiTokenAuthentication

_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


class ErrorOutputSerializer(serializers.Serializer):
    """The body of an error answer that is not about one field."""

    detail = serializers.CharField(help_text="What went wrong, in the request's language.")
    code = serializers.CharField(required=False, help_text="Machine-readable reason, where one is given.")


class PreconditionFailedOutputSerializer(ErrorOutputSerializer):
    version = serializers.IntegerField(help_text="The task's current version (also in the ETag header).")


# 402 bodies (ServiceRefusal.as_dict of shared_apps.billing.exceptions): a plain schema,
# added to the components by the hook below, because the billing middleware answers 402
# outside of any view.
PAYMENT_REQUIRED = "PaymentRequired"
PAYMENT_REQUIRED_SCHEMA = {
    "type": "object",
    "description": (
        "`code` is `plan_limit_exceeded` (with the limit, its usage and allowance and where to upgrade) "
        "or `billing_read_only` (payment is past due: writes are refused, reads work)."
    ),
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string", "enum": ["plan_limit_exceeded", "billing_read_only"]},
        "limit": {"type": "string", "description": "members, projects, storage_bytes, reports_per_month."},
        "usage": {"type": "integer"},
        "allowance": {"type": "integer"},
        "adding": {"type": "integer"},
        "plan": {"type": "string"},
        "upgrade_url": {"type": "string", "format": "uri"},
        "billing_url": {"type": "string", "format": "uri", "description": "Where an owner pays."},
        "past_due_since": {"type": "string", "format": "date-time"},
    },
    "required": ["detail", "code"],
}
_PAYMENT_REQUIRED_REF = {"$ref": f"#/components/schemas/{PAYMENT_REQUIRED}"}


class ValidationErrorOutputSerializer(serializers.Serializer):
    """400. Documented by the extension below (a serializer cannot say "any key")."""


class ValidationErrorSchema(OpenApiSerializerExtension):
    target_class = ValidationErrorOutputSerializer

    def map_serializer(self, auto_schema, direction):
        messages = {
            "anyOf": [
                {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "object"}]}},
                {"type": "object", "description": "Errors of a nested object or of list items by index."},
                {"type": "string"},
            ]
        }
        return {
            "type": "object",
            "description": (
                "Each invalid field or query parameter maps to its messages, e.g. "
                '`{"title": ["This field is required."]}`; errors not tied to one field are under '
                "`non_field_errors` or `detail` (a message or a list), a malformed request has "
                "`detail` and `code`."
            ),
            "properties": {
                "detail": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
                "code": {"type": "string"},
                "non_field_errors": {"type": "array", "items": {"type": "string"}},
            },
            "additionalProperties": messages,
        }


_BODIES = {"400": ValidationErrorOutputSerializer, "412": PreconditionFailedOutputSerializer}

_DESCRIPTIONS = {
    "400": "Invalid input (field errors), or a malformed request (bad JSON, nested too deep, a NUL character).",
    "401": "No valid credentials: the API token is missing, unknown, revoked or expired.",
    "402": "Payment required: a plan limit would be exceeded, or the organisation is read-only (past due).",
    "403": (
        "Not allowed: not a member here, a role without the permission, or no session (CSRF on writes); "
        "code `two_factor_required` when the organisation requires two-factor authentication and the "
        "caller has not set it up."
    ),
    "404": "Not found here (objects of other projects and organisations are not found either), or a page past the end.",
    "415": "The request body's Content-Type is not one this operation accepts (or is missing).",
    "429": "Too many failed token authentications from this address; try again later.",
}


def _error_response(auto_schema, code: str, description: str = "") -> dict:
    if code == "402":
        schema = _PAYMENT_REQUIRED_REF
    else:
        schema = auto_schema.resolve_serializer(_BODIES.get(code, ErrorOutputSerializer)(), "response").ref
    return {
        "description": description or _DESCRIPTIONS.get(code, "Error."),
        "content": {"application/json": {"schema": schema}},
    }


class AutoSchema(openapi.AutoSchema):
    def view_errors(self) -> set[str]:
        """The error statuses this operation's view can answer (see the module docstring)."""
        authenticators = self.view.get_authenticators()
        permissions = self.view.get_permissions()
        errors = {"400"}
        if any(isinstance(item, ApiTokenAuthentication) for item in authenticators):
            errors |= {"401", "429"}
        session = any(isinstance(item, SessionAuthentication) for item in authenticators)
        if not all(isinstance(item, AllowAny) for item in permissions) or (session and self.method in _UNSAFE):
            errors.add("403")
        if "{" in self.path or self._paginated():
            errors.add("404")
        if self.method in _WITH_BODY:
            errors.add("415")
        return errors

    def _paginated(self) -> bool:
        if self.method != "GET":
            return False
        declared = self.get_response_serializers()
        if isinstance(declared, dict):
            declared = declared.get(200) or declared.get("200")
        declared = getattr(declared, "response", declared)
        name = getattr(declared, "__name__", type(declared).__name__)
        pages = any(getattr(parameter, "name", None) == "page" for parameter in self.get_override_parameters())
        return name.startswith("Paginated") or pages or self._is_list_view()

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code, response in list(responses.items()):
            if code >= "400" and "content" not in response:
                responses[code] = _error_response(self, code, response.get("description", ""))
        for code in sorted(self.view_errors() - set(responses)):
            responses[code] = _error_response(self, code)
        return dict(sorted(responses.items()))


def billing_read_only_hook(result, generator, request, public):
    """402 on every write of the organisation API (not billing's own endpoints, which stay
    writable so that an owner can pay): see shared_apps.billing.middleware. Also adds the
    402 body's component wherever a 402 is documented."""
    from shared_apps.billing.middleware import _EXEMPT_PREFIX

    urlconf = generator.urlconf or settings.ROOT_URLCONF
    tenant_api = getattr(urlconf, "__name__", urlconf) == settings.ROOT_URLCONF
    documented = False
    for path, operations in result["paths"].items():
        for method, operation in operations.items():
            responses = operation.get("responses", {})
            if (
                tenant_api
                and method.upper() in _UNSAFE
                and not path.startswith(_EXEMPT_PREFIX)
                and "402" not in responses
            ):
                responses["402"] = {
                    "description": _DESCRIPTIONS["402"],
                    "content": {"application/json": {"schema": _PAYMENT_REQUIRED_REF}},
                }
                operation["responses"] = dict(sorted(responses.items()))
            documented = documented or "402" in responses
    if documented:
        result.setdefault("components", {}).setdefault("schemas", {})[PAYMENT_REQUIRED] = PAYMENT_REQUIRED_SCHEMA
    return result
