"""Query parameters accept what the API documentation says and nothing else: a value the
docs call invalid is a 400 naming the parameter, never "no filter" (issue 11, item 5)."""

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from shared_apps.accounts.models import User
from tenant_apps.members.models import Member
from tenant_apps.projects.services import project_create
from tests.conftest import client_for


@pytest.fixture
def owner_client(org_a) -> Client:
    with schema_context(org_a.schema_name):
        project_create(key="WEB", name="Website", actor=Member.objects.get(email="owner@alpha.test"))
    return client_for(org_a, User.objects.get(email="owner@alpha.test"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("/api/v1/projects/?archived=null", "archived"),
        ("/api/v1/projects/?archived=maybe", "archived"),
        ("/api/v1/notifications/?unread=null", "unread"),
        ("/api/v1/notifications/?unread=None", "unread"),
        ("/api/v1/tasks/?status=null", "status"),
        ("/api/v1/tasks/?priority=null", "priority"),
        ("/api/v1/tasks/?ordering=null", "ordering"),
        ("/api/v1/projects/WEB/tasks/?status=nope", "status"),
        ("/api/v1/reports/?status=null", "status"),
        ("/api/v1/reports/?kind=null", "kind"),
    ],
)
def test_invalid_boolean_and_enum_query_values_are_a_400_naming_the_parameter(owner_client, url, parameter):
    response = owner_client.get(url)

    assert response.status_code == 400, response.content
    assert parameter in response.json()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    ["/api/v1/projects/?archived=true", "/api/v1/projects/?archived=false", "/api/v1/notifications/?unread=true"],
)
def test_documented_boolean_values_still_filter(owner_client, url):
    assert owner_client.get(url).status_code == 200


@pytest.mark.django_db
def test_archived_filter_keeps_its_meaning(owner_client):
    active = owner_client.get("/api/v1/projects/?archived=false").json()["results"]
    archived = owner_client.get("/api/v1/projects/?archived=true").json()["results"]

    assert [project["key"] for project in active] == ["WEB"]
    assert archived == []


@pytest.mark.django_db
@pytest.mark.parametrize("host", ["localhost", "alpha.localhost"])
def test_an_unknown_api_url_is_a_json_404(host):
    response = Client(HTTP_HOST=host).get("/api/v1/no-such-thing/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}
