import pytest
from django.core.cache import cache
from django_tenants.utils import schema_context

from tenant_apps.members.models import Member


@pytest.mark.django_db
def test_rows_written_in_one_schema_are_invisible_in_the_other(org_a, org_b):
    with schema_context(org_a.schema_name):
        Member.objects.create(user_id=987654, email="only-in-alpha@example.test")
        assert Member.objects.filter(email="only-in-alpha@example.test").count() == 1

    with schema_context(org_b.schema_name):
        assert not Member.objects.filter(email="only-in-alpha@example.test").exists()
        assert not Member.objects.filter(user_id=987654).exists()


@pytest.mark.django_db
def test_a_cache_key_written_in_one_tenant_is_not_read_in_the_other(org_a, org_b):
    with schema_context(org_a.schema_name):
        cache.set("project-list", "alpha's projects")
        assert cache.get("project-list") == "alpha's projects"

    with schema_context(org_b.schema_name):
        assert cache.get("project-list") is None
        cache.set("project-list", "bravo's projects")

    with schema_context(org_a.schema_name):
        assert cache.get("project-list") == "alpha's projects"
