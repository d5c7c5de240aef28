"""Glue between Django forms and the services, for every page with a form."""

from collections.abc import Iterator
from contextlib import contextmanager

from shared_apps.core.exceptions import ServiceRefusal
from shared_apps.core.pages import form_errors_from


@contextmanager
def errors_into(form) -> Iterator[None]:
    """`with errors_into(form): service(...); return redirect(...)` — what
    form_errors_from does (a service's ValidationError lands on the form: field errors
    next to their fields, the rest above it), and a refusal with a status of its own (a
    plan limit) above the form too. The view then renders the form again, nothing
    stored."""
    try:
        with form_errors_from(form):
            yield
    except ServiceRefusal as refusal:
        form.add_error(None, refusal.message)
