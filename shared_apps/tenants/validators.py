import functools
import re
import zoneinfo

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
SLUG_MIN_LENGTH = 3
SLUG_MAX_LENGTH = 40

# Sub-domains the platform keeps for itself or that invite phishing.
RESERVED_SLUGS = frozenset(
    {
        "about", "account", "accounts", "admin", "administrator", "api", "app", "apps", "assets",
        "auth", "billing", "blog", "cdn", "dashboard", "dev", "docs", "email", "files", "ftp",
        "help", "imap", "login", "logout", "mail", "media", "mx", "news", "ns1", "ns2", "pop",
        "pop3", "public", "root", "security", "signup", "smtp", "staff", "staging", "static",
        "status", "support", "system", "tessera", "test", "www",
    }
)  # fmt: skip


def validate_slug(value: str) -> str:
    """Return the normalised slug or raise ValidationError with a message a person can act on."""
    slug = (value or "").strip().lower()
    if not SLUG_MIN_LENGTH <= len(slug) <= SLUG_MAX_LENGTH:
        raise ValidationError(
            _("The address must be %(min)d to %(max)d characters long."),
            code="slug_length",
            params={"min": SLUG_MIN_LENGTH, "max": SLUG_MAX_LENGTH},
        )
    if not SLUG_RE.match(slug) or "--" in slug:
        raise ValidationError(
            _(
                "The address may contain only lowercase letters, digits and single hyphens, "
                "and must start and end with a letter or digit."
            ),
            code="slug_invalid",
        )
    if slug in RESERVED_SLUGS or slug.startswith("org-"):
        raise ValidationError(_("The address “%(slug)s” is reserved."), code="slug_reserved", params={"slug": slug})
    return slug


def validate_time_zone(value: str) -> None:
    """An IANA zone name the standard library knows (`Europe/Berlin`, `UTC`)."""
    if value not in _time_zones():
        raise ValidationError(
            _("“%(value)s” is not a known time zone; use an IANA name such as Europe/Berlin."),
            code="time_zone_invalid",
            params={"value": value},
        )


@functools.cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())
