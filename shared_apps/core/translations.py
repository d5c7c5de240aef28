"""Messages of libraries we use whose Russian catalogues lack them (Django REST
framework's validation errors people meet through our API). Listed here so
`makemessages` puts them in our catalogue, which takes precedence (LOCALE_PATHS)."""

from django.utils.translation import gettext_noop

LIBRARY_MESSAGES = [
    gettext_noop("Must be a valid boolean."),
    gettext_noop("Invalid input."),
    gettext_noop("Not a valid string."),
    gettext_noop("Must be a valid UUID."),
    gettext_noop("A valid biginteger is required."),
    gettext_noop("Datetime value out of range."),
    gettext_noop('Invalid datetime for the timezone "{timezone}".'),
    gettext_noop("This dictionary may not be empty."),
    gettext_noop("Ensure this field has no more than {max_length} elements."),
    gettext_noop("Ensure this field has at least {min_length} elements."),
    gettext_noop("Expected available in {wait} second."),
    gettext_noop("Expected available in {wait} seconds."),
    gettext_noop("Surrogate characters are not allowed: U+{code_point:X}."),
]
