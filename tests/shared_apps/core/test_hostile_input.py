"""Hostile input answers 4xx before anything else runs: JSON nested past any sane depth,
NUL characters where PostgreSQL would refuse them (issue 11, item 4)."""

import json

import pytest
from django.test import Client
from django_tenants.utils import schema_context
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.test import APIRequestFactory

from shared_apps.accounts.models import User
from shared_apps.accounts.tokens import FAILURES_ALLOWED, ApiTokenAuthentication
from shared_apps.core.parsers import JSON_MAX_DEPTH, json_depth_exceeds
from shared_apps.tenants.models import Organization
from tenant_apps.members.models import Member
from tenant_apps.projects.services import project_create
from tests.conftest import client_for

JSON = "application/json"


def _nested(depth: int, leaf="x") -> object:
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def _deep_body(depth: int) -> str:
    # Built as text: json.dumps itself would recurse past the limit.
    return '{"email": ' + "[" * depth + '"a@b.test"' + "]" * depth + "}"


@pytest.mark.django_db
def test_deeply_nested_json_on_anonymous_signup_is_a_400():
    before = (User.objects.count(), Organization.objects.count())

    response = Client(HTTP_HOST="localhost").post("/api/v1/signup/", _deep_body(1000), content_type=JSON)

    assert response.status_code == 400
    assert "nested deeper than" in response.json()["detail"]
    assert (User.objects.count(), Organization.objects.count()) == before


@pytest.mark.django_db
@pytest.mark.parametrize("depth", [JSON_MAX_DEPTH + 1, 1000, 100_000])
def test_deeply_nested_json_on_a_tenant_endpoint_is_a_400(org_a, depth):
    owner = User.objects.get(email="owner@alpha.test")

    response = client_for(org_a, owner).patch("/api/v1/organization/", _deep_body(depth), content_type=JSON)

    assert response.status_code == 400
    assert "nested deeper than" in response.json()["detail"]
    org_a.refresh_from_db()
    assert org_a.name == "Alpha Corp"


@pytest.mark.django_db
def test_json_within_the_depth_limit_is_parsed_and_validated_as_usual(org_a):
    owner = User.objects.get(email="owner@alpha.test")
    body = json.dumps({"name": _nested(JSON_MAX_DEPTH - 2)})

    response = client_for(org_a, owner).patch("/api/v1/organization/", body, content_type=JSON)

    assert response.status_code == 400
    assert "name" in response.json()


def test_json_depth_is_measured_without_recursion():
    assert not json_depth_exceeds({"a": [1, {"b": []}]}, 4)
    assert json_depth_exceeds({"a": [1, {"b": []}]}, 3)
    assert not json_depth_exceeds("flat", 1)
    assert json_depth_exceeds(_nested(50_000), JSON_MAX_DEPTH)


@pytest.mark.django_db
@pytest.mark.parametrize("header", ["HTTP_AUTHORIZATION", "HTTP_X_SESSION_TOKEN", "HTTP_IF_MATCH"])
def test_nul_in_a_header_is_a_400(org_a, header):
    client = Client(HTTP_HOST="alpha.localhost", **{header: "tsr_\x00abc"})

    response = client.get("/api/v1/organization/")

    assert response.status_code == 400
    assert response.json()["code"] == "nul_character"


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["tsr_\x00abc", "tsr_abc\x00"])
def test_the_token_class_refuses_nul_itself(key):
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Token {key}")

    with pytest.raises(AuthenticationFailed):
        ApiTokenAuthentication().authenticate(request)


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["tsr_ab cd", "tsr_" + "a" * 500, "tsr_é", "tsr_a;b", "xyz"])
def test_a_malformed_token_is_a_401_before_any_query(org_a, key, django_assert_max_num_queries):
    client = Client(HTTP_HOST="alpha.localhost", HTTP_AUTHORIZATION=f"Token {key}".encode().decode("latin-1"))

    with django_assert_max_num_queries(3):  # tenant lookup and search_path, no token query
        response = client.get("/api/v1/organization/")

    assert response.status_code == 401
    assert response.json()["detail"].startswith("Invalid token")


@pytest.mark.django_db
def test_malformed_tokens_count_as_failures(org_a):
    client = Client(HTTP_HOST="alpha.localhost", HTTP_AUTHORIZATION="Token tsr_a;b")
    for _ in range(FAILURES_ALLOWED):
        assert client.get("/api/v1/organization/").status_code == 401
    assert client.get("/api/v1/organization/").status_code == 429


@pytest.fixture
def owner_client(org_a):
    with schema_context(org_a.schema_name):
        project_create(key="WEB", name="Website", actor=Member.objects.get(email="owner@alpha.test"))
    return client_for(org_a, User.objects.get(email="owner@alpha.test"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/projects/?archived=%00",
        "/api/v1/tasks/?search=a%00b",
        "/api/v1/tasks/?assignee=%00",
        "/api/v1/projects/WEB/tasks/?a%00=1",
        "/api/v1/projects/WE%00B/",
        "/api/v1/projects/WEB/tasks/WEB-1%00/",
        "/tasks/WEB-%001/",
        "/invitations/abc%00def/",
        "/notifications/unsubscribe/x%00y/",
    ],
)
def test_nul_in_path_or_query_string_is_a_400(owner_client, url):
    response = owner_client.get(url)

    assert response.status_code == 400
    assert response.json()["code"] == "nul_character"


@pytest.mark.django_db
def test_nul_in_a_delete_query_parameter_is_a_400(owner_client):
    response = owner_client.delete("/api/v1/projects/WEB/?confirm=WEB%00")

    assert response.status_code == 400
    assert owner_client.get("/api/v1/projects/WEB/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("host", ["localhost", "alpha.localhost"])
def test_nul_in_the_session_cookie_is_a_400(host):
    client = Client(HTTP_HOST=host)
    client.cookies["sessionid"] = "abc\x00defghijkl"

    response = client.get("/api/v1/organizations/" if host == "localhost" else "/api/v1/organization/")

    assert response.status_code == 400


@pytest.mark.django_db
def test_nul_in_json_and_form_fields_is_a_field_error(owner_client):
    json_response = owner_client.post("/api/v1/projects/", {"key": "OPS", "name": "Op\x00s"}, content_type=JSON)
    form_response = owner_client.post("/api/v1/projects/", {"key": "OPS", "name": "Op\x00s"})

    assert json_response.status_code == 400
    assert "name" in json_response.json()
    assert form_response.status_code == 400
    assert "name" in form_response.json()
