"""Glue between Django forms and the services, for every page with a form."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from shared_apps.core.exceptions import ServiceRefusal


@contextmanager
def errors_into(form) -> Iterator[None]:
    """`with errors_into(form): service(...); return redirect(...)` — a ValidationError
    (or a refusal such as a plan limit) raised by the service stops the block and lands
    on the form: field errors next to their fields, the rest above the form. The view
    then renders the form again with nothing stored."""
    try:
        yield
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            for field, errors in exc.error_dict.items():
                target = field if field in form.fields and field != NON_FIELD_ERRORS else None
                for error in errors:
                    form.add_error(target, error)
        else:
            form.add_error(None, exc)
    except ServiceRefusal as refusal:
        form.add_error(None, str(refusal.as_dict().get("detail", refusal)))
