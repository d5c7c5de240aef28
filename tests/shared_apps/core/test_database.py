import pytest
from django.conf import settings
from django.db import connections


@pytest.mark.django_db
def test_every_new_connection_gets_the_configured_work_mem():
    assert settings.DATABASE_WORK_MEM == "16MB"
    fresh = connections.create_connection("default")
    try:
        with fresh.cursor() as cursor:
            cursor.execute("SHOW work_mem")
            assert cursor.fetchone()[0] == "16MB"
    finally:
        fresh.close()
