"""Refusals a service raises that carry their own HTTP status.

A service stays free of DRF; the API layer (`shared_apps.core.api.exception_handler`)
answers a `ServiceRefusal` with its `status_code` and `as_dict()` body."""


class ServiceRefusal(Exception):
    """A refusal with a status other than 400/403: payment required, conflict, a third
    party unavailable. `details` become extra keys of the JSON body."""

    status_code = 400
    code = "refused"

    def __init__(self, message: str, **details):
        super().__init__(message)
        self.message = message
        self.details = details

    def as_dict(self) -> dict:
        return {"detail": self.message, "code": self.code, **self.details}
