"""Glue between services and DRF views."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.fields import empty
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from shared_apps.core.exceptions import ServiceRefusal


def django_error_as_drf(exc: Exception) -> Exception:
    """The DRF exception for a Django one a service (or an access_* helper) raised:
    ValidationError → 400 naming the fields (or `detail` for errors not tied to one),
    PermissionDenied → 403 with its message. Anything else is returned unchanged (DRF
    itself maps Http404 to 404)."""
    if isinstance(exc, DjangoValidationError):
        return ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})
    if isinstance(exc, DjangoPermissionDenied):
        return PermissionDenied(str(exc) or None)
    return exc


def exception_handler(exc, context):
    """The one error path of the API (settings REST_FRAMEWORK EXCEPTION_HANDLER): DRF's
    handler, plus the Django exceptions services raise (so views call services directly
    and no call can skip the mapping), plus services' refusals with a status of their own
    (e.g. a plan limit: 402 naming the limit, the usage, the allowance and where to
    upgrade)."""
    if isinstance(exc, ServiceRefusal):
        return Response(exc.as_dict(), status=exc.status_code)
    return drf_exception_handler(django_error_as_drf(exc), context)


UNKNOWN_FIELD = _("Unknown field.")
UNKNOWN_PARAMETER = _("Unknown parameter.")


def unknown_refuse(given, known, *, message=UNKNOWN_FIELD) -> None:
    """400 naming every key of `given` (request data or query parameters) that is not in
    `known`: a misspelt field is an error, never silently ignored."""
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise ValidationError({name: [message] for name in unknown})


class QueryBooleanField(serializers.BooleanField):
    """A boolean query parameter: `true`/`false` (or DRF's other spellings: 1/0, yes/no,
    on/off); absent means "not given". Unlike a nullable BooleanField, `null` is a 400,
    and unlike a plain one on a QueryDict, absent is not false (that is for checkboxes)."""

    default_empty_html = empty

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
