"""The pages' error path, the counterpart of the API's exception handler
(shared_apps.core.api.exception_handler): services and access_* helpers raise Django's
Http404, PermissionDenied and ValidationError, and a page view calls them directly.

- Http404 and PermissionDenied need nothing: Django answers them with templates/404.html
  and templates/403.html.
- A ValidationError a page does not handle becomes a 400 page naming the problems
  (ServiceErrorMiddleware), never a 500.
- A page with a form wraps its service call in `form_errors_from(form)`: the service's
  field errors land next to their fields, the others above the form, and the page
  renders the form again."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.shortcuts import render


class ServiceErrorMiddleware:
    """Turns a ValidationError that escapes a page view into a 400 page (templates/400.html)
    listing its messages. DRF views never reach it: their handler answers first."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, ValidationError):
            return render(request, "400.html", {"messages_list": exception.messages}, status=400)
        return None


@contextmanager
def form_errors_from(form) -> Iterator[None]:
    """`with form_errors_from(form): obj = some_service(...); return redirect(...)` —
    if the service raises ValidationError, the block stops there and its errors are added
    to `form` (errors for fields the form does not have go to its non-field errors), so
    the view goes on to render the form again."""
    try:
        yield
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            for field, errors in exc.error_dict.items():
                target = field if field in form.fields else None
                for error in errors:
                    form.add_error(target if field != NON_FIELD_ERRORS else None, error)
        else:
            form.add_error(None, exc)
