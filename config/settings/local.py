"""Development: `make run`. Debug on, a fixed development-only secret, mail to files."""

from config import embedded

from .base import *  # noqa: F403
from .base import BASE_DIR, MIDDLEWARE, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="dev-only-insecure-key-never-use-in-production")
# Links in emails, the sign-up answer and the seed banner name the port `make run` serves
# on (TESSERA_PORT) unless TESSERA_SITE_PORT says otherwise (e.g. behind a local proxy).
SITE_PORT = env("TESSERA_SITE_PORT", default="") or str(embedded.web_port())
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = embedded.data_dir(BASE_DIR) / "mail"
# `make run` serves with gunicorn, which has no static file handler of its own: WhiteNoise
# serves them straight from the apps' static directories (no collectstatic needed),
# rescanning on each request while DEBUG is on.
# https://whitenoise.readthedocs.io/en/stable/django.html
MIDDLEWARE = [*MIDDLEWARE]
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1, "whitenoise.middleware.WhiteNoiseMiddleware"
)
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
