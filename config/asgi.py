"""ASGI entry point, for completeness only: serve Tessera with WSGI (config/wsgi.py).
django-tenants loses the schema under the async ORM; views here stay synchronous."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
application = get_asgi_application()
