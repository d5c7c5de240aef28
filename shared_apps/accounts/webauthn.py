"""Malformed security-key answers are a form error, not a 500.

allauth 65.21 parses the browser's WebAuthn JSON with fido2's `from_dict`, and turns only
TypeError (registration) or TypeError/ValueError (authentication) into its "Incorrect
code" error; a JSON object without, say, `rawId` raises KeyError and would end in a 500 on
the HTML forms and the headless API alike. Every one of those forms calls the two parse
functions through the module (`auth.parse_…`), so wrapping them here covers them all."""

from allauth.mfa.adapter import get_adapter
from allauth.mfa.webauthn.internal import auth

_MALFORMED = (KeyError, AttributeError, TypeError, ValueError)


def _refusing_malformed(parse):
    def wrapper(response):
        if not isinstance(response, dict):
            raise get_adapter().validation_error("incorrect_code")
        try:
            return parse(response)
        except _MALFORMED as e:
            raise get_adapter().validation_error("incorrect_code") from e

    wrapper.__wrapped__ = parse
    wrapper.__doc__ = parse.__doc__
    return wrapper


def install() -> None:
    """Called once from AccountsConfig.ready."""
    for name in ("parse_registration_response", "parse_authentication_response"):
        parse = getattr(auth, name)
        if not hasattr(parse, "__wrapped__"):
            setattr(auth, name, _refusing_malformed(parse))
