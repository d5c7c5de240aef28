"""WSGI entry point. Tessera is deployed with WSGI (gunicorn): django-tenants keeps the
schema on the connection, which the async ORM does not preserve (DESIGN.md section 2)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
application = get_wsgi_application()

# Behind a transaction-pooling pooler organisations' search_path would leak between
# requests: refuse to serve at all (config/pooler.py).
from config.pooler import pooler_ensure_session_state  # noqa: E402

pooler_ensure_session_state()
