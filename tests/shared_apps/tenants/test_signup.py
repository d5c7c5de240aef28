import re

import pytest
from django.core import mail
from django.test import Client
from django_tenants.utils import schema_context

from shared_apps.accounts.models import User
from shared_apps.tenants.models import Domain, Membership, Organization, OrgRole
from shared_apps.tenants.services import membership_add
from shared_apps.tenants.spares import spare_create
from tenant_apps.members.models import Member
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.helpers import run_together, verified_user

PASSWORD = "a-long-enough-passphrase-42"


def _root() -> Client:
    return Client(HTTP_HOST="localhost")


def _confirmation_path() -> str:
    assert len(mail.outbox) == 1, [message.subject for message in mail.outbox]
    match = re.search(r"https?://localhost(/accounts/confirm-email/[^/\s]+/)", mail.outbox[0].body)
    assert match, mail.outbox[0].body
    return match.group(1)


def _assert_organisation_ready(slug: str, email: str) -> Organization:
    organization = Organization.objects.get(slug=slug)
    owner = User.objects.get(email=email)
    assert organization.status == Organization.Status.ACTIVE
    assert Domain.objects.filter(tenant=organization, domain=f"{slug}.localhost").exists()
    assert Membership.objects.get(organization=organization, user=owner).role == OrgRole.OWNER
    with schema_context(organization.schema_name):
        assert Member.objects.get(user_id=owner.pk).role == "owner"
    return organization


@pytest.mark.django_db
def test_signup_page_flow_end_to_end():
    spare_create()
    client = _root()
    assert 'name="slug"' in client.get("/accounts/signup/").text

    response = client.post(
        "/accounts/signup/",
        {
            "email": "Ada@Rocket.example",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "organization_name": "Rocket Labs",
            "slug": "rocket",
        },
    )
    assert response.status_code == 302, response.text
    assert response["Location"] == "/accounts/confirm-email/"
    _assert_organisation_ready("rocket", "ada@rocket.example")
    assert mail.outbox[0].to == ["ada@rocket.example"]
    assert "Confirm" in mail.outbox[0].subject

    confirm = _confirmation_path()
    assert client.get(confirm).status_code == 200
    response = client.post(confirm)
    assert response.status_code == 302
    assert response["Location"] == "http://rocket.localhost/"

    # The session from the root domain serves the organisation's subdomain.
    home = client.get("/", HTTP_HOST="rocket.localhost")
    assert home.status_code == 200
    assert "Rocket Labs" in home.text


@pytest.mark.django_db
def test_signup_api_flow_end_to_end():
    client = _root()
    response = client.post(
        "/api/v1/signup/",
        {"email": "grace@navy.example", "password": PASSWORD, "organization_name": "Navy", "slug": "navy"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert response.json() == {
        "email": "grace@navy.example",
        "organization": "Navy",
        "url": "http://navy.localhost/",
        "email_verification_sent": True,
    }
    _assert_organisation_ready("navy", "grace@navy.example")
    # Not logged in before the email is verified.
    assert client.get("/api/v1/organization/", HTTP_HOST="navy.localhost").status_code == 401

    response = client.post(_confirmation_path())
    assert response["Location"] == "http://navy.localhost/"
    body = client.get("/api/v1/organization/", HTTP_HOST="navy.localhost").json()
    assert body["role"] == "owner"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("www", "reserved"),
        ("admin", "reserved"),
        ("mail", "reserved"),
        ("ab", "3 to 40"),
        ("Bad Slug", "lowercase letters"),
        ("alpha", "already taken"),
        ("ALPHA", "already taken"),
    ],
)
def test_signup_api_refuses_bad_slugs_and_creates_nothing(org_a, slug, message):
    users, organizations = User.objects.count(), Organization.objects.count()
    response = _root().post(
        "/api/v1/signup/",
        {"email": "new@example.test", "password": PASSWORD, "organization_name": "New", "slug": slug},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert message in " ".join(response.json()["slug"])
    assert (User.objects.count(), Organization.objects.count()) == (users, organizations)
    assert mail.outbox == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"password": "short"}, "password"),
        ({"password": "12345678901"}, "password"),
        ({"organization_name": ""}, "organization_name"),
        ({"email": "owner@alpha.test"}, "email"),
    ],
)
def test_signup_api_refuses_bad_input_with_the_field_named(org_a, payload, field):
    data = {"email": "fresh@example.test", "password": PASSWORD, "organization_name": "Fresh", "slug": "fresh"}
    data.update(payload)
    before = User.objects.count()

    response = _root().post("/api/v1/signup/", data, content_type="application/json")

    assert response.status_code == 400
    assert field in response.json()
    assert User.objects.count() == before
    assert not Organization.objects.filter(slug="fresh").exists()


@pytest.mark.django_db
def test_signup_is_closed_on_organisation_domains(org_a):
    client = client_for(org_a)
    response = client.post(
        "/accounts/signup/",
        {
            "email": "x@example.test",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "organization_name": "X",
            "slug": "xyz",
        },
    )
    assert response.status_code == 200
    assert "closed" in response.text.lower()
    assert not User.objects.filter(email="x@example.test").exists()
    assert client.post("/api/v1/signup/", {}, content_type="application/json").status_code == 404


def test_concurrent_signups_for_one_slug_create_one_organisation(committed):
    spare_create()
    spare_create()

    def sign_up(index: int):
        return _root().post(
            "/api/v1/signup/",
            {
                "email": f"racer{index}@example.test",
                "password": PASSWORD,
                "organization_name": f"Racer {index}",
                "slug": "photo-finish",
            },
            content_type="application/json",
        )

    responses = run_together(2, sign_up)

    codes = sorted(response.status_code for response in responses)
    assert codes == [201, 400], [response.content for response in responses]
    loser = next(response for response in responses if response.status_code == 400)
    assert "already taken" in " ".join(loser.json()["slug"])
    assert Organization.objects.filter(slug="photo-finish").count() == 1
    # The loser's account was not left behind without an organisation.
    assert User.objects.filter(email__startswith="racer").count() == 1


@pytest.mark.django_db
def test_login_on_the_root_domain_goes_to_the_only_organisation(org_a):
    owner = User.objects.get(email="owner@alpha.test")
    owner.set_password(PASSWORD)
    owner.save()
    owner.emailaddress_set.create(email=owner.email, primary=True, verified=True)

    response = _root().post("/accounts/login/", {"login": "owner@alpha.test", "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "http://alpha.localhost/"


@pytest.mark.django_db
def test_login_with_several_organisations_shows_the_picker(org_a, org_b):
    person = verified_user("both@example.test", PASSWORD)
    membership_add(organization=org_a, user=person, role=OrgRole.MEMBER)
    membership_add(organization=org_b, user=person, role=OrgRole.ADMIN)
    client = _root()

    response = client.post("/accounts/login/", {"login": "both@example.test", "password": PASSWORD})
    assert response["Location"] == "/organizations/"

    page = client.get("/organizations/")
    assert "http://alpha.localhost/" in page.text
    assert "http://bravo.localhost/" in page.text
    api = client.get("/api/v1/organizations/").json()["results"]
    assert [(item["slug"], item["role"]) for item in api] == [("alpha", "member"), ("bravo", "admin")]


@pytest.mark.django_db
def test_login_works_on_an_organisation_domain(org_a):
    person = verified_user("local@example.test", PASSWORD)
    membership_add(organization=org_a, user=person, role=OrgRole.MEMBER)
    client = client_for(org_a)

    response = client.post("/accounts/login/", {"login": "local@example.test", "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/api/v1/organization/").status_code == 200


@pytest.mark.django_db
def test_failed_logins_are_rate_limited():
    verified_user("target@example.test", PASSWORD)
    client = _root()
    answers = [
        client.post("/accounts/login/", {"login": "target@example.test", "password": "wrong"}).text for _ in range(6)
    ]
    assert "Too many failed login attempts" not in answers[0]
    assert "Too many failed login attempts" in answers[-1]

    # While limited, even the right password is refused.
    response = client.post("/accounts/login/", {"login": "target@example.test", "password": PASSWORD})
    assert response.status_code == 200
    assert "Too many failed login attempts" in response.text


@pytest.mark.django_db
def test_user_organizations_api_needs_login_and_lists_only_own(org_a, org_b):
    assert _root().get("/api/v1/organizations/").status_code == 401
    person = UserFactory()
    membership_add(organization=org_b, user=person, role=OrgRole.GUEST)
    body = client_for(None, person).get("/api/v1/organizations/").json()["results"]
    assert [item["slug"] for item in body] == ["bravo"]


@pytest.mark.django_db
def test_password_reset_on_an_organisation_domain_links_back_to_it(org_a):
    person = UserFactory(email="forgetful@example.test")
    person.emailaddress_set.create(email=person.email, primary=True, verified=True)
    membership_add(organization=org_a, user=person, role=OrgRole.MEMBER)
    client = client_for(org_a)

    response = client.post("/accounts/password/reset/", {"email": "forgetful@example.test"})

    assert response.status_code == 302
    match = re.search(r"http://alpha\.localhost(/accounts/password/reset/key/\S+/)", mail.outbox[0].body)
    assert match, mail.outbox[0].body
    form = client.get(match.group(1), follow=True)
    assert form.status_code == 200
    done = client.post(
        form.redirect_chain[-1][0] if form.redirect_chain else match.group(1),
        {"password1": PASSWORD, "password2": PASSWORD},
    )
    assert done.status_code == 302
    person.refresh_from_db()
    assert person.check_password(PASSWORD)


@pytest.mark.django_db
def test_email_and_password_pages_work_on_every_domain(org_a):
    person = UserFactory()
    person.emailaddress_set.create(email=person.email, primary=True, verified=True)
    membership_add(organization=org_a, user=person, role=OrgRole.MEMBER)
    for organization in (None, org_a):
        client = client_for(organization, person)
        assert client.get("/accounts/email/").status_code == 200
        assert client.get("/accounts/password/change/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "https://evil.example\\@alpha.localhost/",
        "https://evil.example\\.localhost/",
        "/\\evil.example/",
        "https://alpha.localhost@evil.example/",
        "https://evil.example%2f.localhost/",
    ],
)
def test_login_never_redirects_off_the_platform(org_a, target):
    person = verified_user("redirected@example.test", PASSWORD)
    membership_add(organization=org_a, user=person, role=OrgRole.MEMBER)

    response = _root().post("/accounts/login/", {"login": person.email, "password": PASSWORD, "next": target})

    assert response.status_code == 302
    assert "evil" not in response["Location"]


@pytest.mark.django_db
def test_login_may_redirect_to_an_organisation_domain(org_a):
    person = verified_user("hopper@example.test", PASSWORD)
    membership_add(organization=org_a, user=person, role=OrgRole.MEMBER)

    response = _root().post(
        "/accounts/login/", {"login": person.email, "password": PASSWORD, "next": "http://alpha.localhost/api/docs/"}
    )
    assert response["Location"] == "http://alpha.localhost/api/docs/"


@pytest.mark.django_db
def test_signup_api_takes_json_only_and_is_rate_limited():
    client = _root()
    form_post = client.post(
        "/api/v1/signup/", {"email": "f@example.test", "password": PASSWORD, "organization_name": "F", "slug": "fff"}
    )
    assert form_post.status_code == 415

    payload = {"email": "r@example.test", "password": PASSWORD, "organization_name": "R", "slug": "www"}
    codes = [client.post("/api/v1/signup/", payload, content_type="application/json").status_code for _ in range(21)]
    assert codes[:20] == [400] * 20
    assert codes[20] == 429


def test_session_cookie_covers_every_organisation_subdomain():
    from config.settings.base import session_cookie_domain

    assert session_cookie_domain("example.com") == ".example.com"
    assert session_cookie_domain("localhost") is None


@pytest.mark.django_db
def test_user_organizations_query_count_is_constant(org_a, org_b):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    person = UserFactory()
    for organization in (org_a, org_b):
        membership_add(organization=organization, user=person, role=OrgRole.MEMBER)
    client = client_for(None, person)
    client.get("/api/v1/organizations/")
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/organizations/").json()["count"] == 2
    # search_path, user, memberships with their organisations (session from the cache)
    assert len(queries.captured_queries) == 3, [q["sql"] for q in queries.captured_queries]
