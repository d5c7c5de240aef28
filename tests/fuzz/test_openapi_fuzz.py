"""Property-based fuzzing of every operation of both OpenAPI schemas (schemathesis).

For each operation, schemathesis generates requests from the schema (valid ones, and
invalid ones: wrong types, missing fields, out-of-range values) and sends them with a
real API token or session to the organisation's (or root) domain, where a project, tasks,
a comment, a label, an attachment, a webhook, a report, a notification, an invitation and a
custom role exist: half of the cases use those objects' ids in the path, half whatever
the schema allows. Every answer must be
- no 5xx;
- a status code the operation documents, with the documented content type and a body
  that conforms to the documented schema.

Bounded and reproducible: FUZZ_EXAMPLES cases per operation, generation mode and source,
derandomized (the same cases on every run), no deadline. Each case runs in a savepoint
that is rolled back (and the cache emptied), so every case sees the same seeded objects.
`TESSERA_FUZZ_EXAMPLES=200 make test ARGS=tests/fuzz` fuzzes harder locally.
"""

import os

import hypothesis
import pytest
import redis
import schemathesis
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection, transaction
from django.test import Client
from django.urls import set_urlconf
from django_tenants.utils import schema_context
from drf_spectacular.generators import SchemaGenerator
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from shared_apps.accounts.models import User
from shared_apps.accounts.tokens import api_token_create
from shared_apps.tenants.memberships import invitation_create
from shared_apps.tenants.models import Membership, OrgRole
from shared_apps.tenants.services import membership_add
from tenant_apps.members.models import Member
from tenant_apps.notifications.models import Notification
from tenant_apps.notifications.services import event_record, webhook_create
from tenant_apps.projects.models import Role
from tenant_apps.projects.services import project_create, project_member_set, role_create
from tenant_apps.reports.services.requests import report_request
from tenant_apps.tasks.services import attachment_add, comment_create, label_save, task_create
from tests.factories import UserFactory

# Cases per operation, generation mode and path-parameter source (so 10 or 20 per
# operation): about a minute per schema on two busy cores.
FUZZ_EXAMPLES = int(os.environ.get("TESSERA_FUZZ_EXAMPLES", "5"))


def no_server_error(ctx, response, case):
    """A 5xx only where the operation documents it on purpose (billing answers 503 when
    it is disabled, 502 when Stripe fails); never a 500."""
    documented = case.operation.definition.raw["responses"]
    if response.status_code >= 500 and (response.status_code == 500 or str(response.status_code) not in documented):
        return not_a_server_error(ctx, response, case)
    return None


CHECKS = [
    no_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# CSRF: the session-authenticated writes get a token as a browser would send it.
CSRF_TOKEN = "fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzz"


@pytest.fixture(autouse=True)
def _no_dns(monkeypatch):
    # Webhook URLs are checked by resolving their host: no network in tests, every
    # generated host "resolves" to one public address.
    monkeypatch.setattr("tenant_apps.notifications.webhooks._addresses", lambda host, port: ["93.184.215.14"])


@pytest.fixture
def wsgi_app():
    """Django's WSGI application, without closing the test's database connection at
    the end of each request (the test client's ClientHandler does the same)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    django_app = WSGIHandler()

    def app(environ, start_response):
        # A server always sets the client address (allauth's rate limits refuse without).
        environ.setdefault("REMOTE_ADDR", "127.0.0.1")
        return django_app(environ, start_response)

    try:
        yield app
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _schema(urlconf: str) -> dict:
    return SchemaGenerator(urlconf=urlconf).get_schema(request=None, public=True)


def _session_cookie(user: User, host: str) -> str:
    client = Client(HTTP_HOST=host)
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def _seed_tenant(organization) -> dict:
    """Objects for the path parameters to hit; returns their ids by parameter name."""
    owner = User.objects.get(email=f"owner@{organization.slug}.test")
    other_user = UserFactory(email=f"dev@{organization.slug}.test")
    membership_add(organization=organization, user=other_user, role=OrgRole.MEMBER)
    owner_membership = Membership.objects.get(organization=organization, user=owner)
    invitation, _token = invitation_create(
        organization=organization, email="new@example.test", role=OrgRole.MEMBER, actor=owner_membership
    )
    with schema_context(organization.schema_name):
        owner_member = Member.objects.get(user_id=owner.pk)
        other = Member.objects.get(user_id=other_user.pk)
        project = project_create(key="WEB", name="Website", actor=owner_member)
        project_member_set(project=project, member=other, role=Role.objects.get(name="Developer"))
        label = label_save(project=project, name="bug")
        task = task_create(project=project, actor=owner_member, title="First", assignees=[other], labels=[label])
        second = task_create(project=project, actor=owner_member, title="Second")
        comment = comment_create(task=task, actor=owner_member, body="Looks good @dev")
        attachment = attachment_add(
            task=task, actor=owner_member, upload=SimpleUploadedFile("notes.txt", b"hello", "text/plain")
        )
        webhook = webhook_create(url="https://hooks.example.com/tessera", kinds=["task.assigned"], actor=owner_member)
        report, _created = report_request(
            actor=owner_member,
            kind="completed_tasks",
            format="csv",
            params={"from": "2026-11-01", "to": "2026-11-30"},
            time_zone="UTC",
        )
        event = event_record(kind="task.assigned", actor=other, task=task)
        notification = Notification.objects.create(recipient=owner_member, event=event)
        role = role_create(name="Triage", permissions=["task.edit"])
        # Issue 15's objects, so their operations are reached with a real id too.
        from datetime import date

        from tenant_apps.fields.services import field_create
        from tenant_apps.savedviews.services import view_create
        from tenant_apps.tasks.relations import relation_add
        from tenant_apps.timetracking.services import time_entry_create

        field = field_create(project=project, actor=owner_member, name="Size", kind="number")
        view = view_create(project=project, actor=owner_member, name="Mine")
        entry = time_entry_create(task=task, actor=owner_member, minutes=30, day=date(2026, 11, 20))
        relation = relation_add(task=task, other=second, kind="relates_to", actor=owner_member)
        state = project.states.get(name="Cancelled")
    return {
        "field_id": field.pk,
        "view_id": view.pk,
        "entry_id": entry.pk,
        "relation_id": relation.pk,
        "state_id": state.pk,
        "key": project.key,
        "number": task.number,
        "comment_id": comment.pk,
        "label_id": label.pk,
        "attachment_id": attachment.pk,
        "member_id": other.pk,
        "invitation_id": invitation.pk,
        "notification_id": notification.pk,
        "report_id": report.pk,
        "role_id": role.pk,
        "webhook_id": webhook.pk,
    }


def _fuzz(raw_schema: dict, *, app, host: str, headers: dict, cookies: dict, ids: dict) -> tuple[list[str], dict]:
    """Run every operation; return one line per failing operation, and the statuses each
    operation answered."""
    schema = schemathesis.openapi.from_dict(raw_schema)
    schema.app = app
    flush = redis.Redis.from_url(settings.TEST_REDIS_URL).flushdb

    def send(case):
        """One case in a savepoint that is rolled back (and the cache emptied): every case
        sees the same seeded objects."""
        try:
            with transaction.atomic():
                response = case.call(base_url=f"http://{host}", headers=headers, cookies=cookies)
                transaction.set_rollback(True)
            return response
        finally:
            # What the end of a real request resets: the schema, the URLconf that
            # django-tenants chose for the host (left set, later reverse() calls in this
            # process would resolve against it), and the cache.
            connection.set_schema_to_public()
            set_urlconf(None)
            flush()

    failures = []
    statuses: dict[str, set[int]] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        answered = statuses.setdefault(f"{operation.method.upper()} {operation.path}", set())
        names = {parameter.name for parameter in operation.path_parameters}
        real = {name: value for name, value in ids.items() if name in names}
        strategies = []
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategies.append(operation.as_strategy(generation_mode=mode))
            if real:
                strategies.append(operation.as_strategy(generation_mode=mode, path_parameters=real))

        run = _operation_test(
            st.one_of(strategies), examples=FUZZ_EXAMPLES * len(strategies), answered=answered, send=send
        )

        try:
            run()
        except Exception as exc:  # reported together, after every operation ran
            failures.append(f"{operation.method.upper()} {operation.path}: {_describe(exc)}")
    return failures, statuses


def _describe(exc: BaseException) -> str:
    """A failure in a few lines (schemathesis groups them; the request bodies can be huge)."""
    parts = [str(exc)[:400]]
    for inner in getattr(exc, "exceptions", ()):
        parts.append(f"  {type(inner).__name__}: {str(inner)[:400]}")
    return "\n".join(parts)


def _operation_test(strategy, *, examples: int, answered: set, send):
    @hypothesis.settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    @hypothesis.given(case=strategy)
    def run(case):
        response = send(case)
        answered.add(response.status_code)
        case.validate_response(response, checks=CHECKS)

    return run


def _assert_reached(statuses: dict, *, expected_operations: int) -> None:
    """The fuzzer really exercised the API: every operation was called, and most of them
    succeeded at least once (auth and seeded objects work), not only refused."""
    assert len(statuses) >= expected_operations
    assert all(statuses.values())
    succeeded = [operation for operation, codes in statuses.items() if any(200 <= code < 300 for code in codes)]
    assert len(succeeded) >= 0.8 * len(statuses), sorted(set(statuses) - set(succeeded))


@pytest.mark.django_db
def test_tenant_api_answers_every_fuzzed_request_as_documented(org_a, wsgi_app):
    ids = _seed_tenant(org_a)
    owner = User.objects.get(email="owner@alpha.test")
    _token, key = api_token_create(user=owner, name="fuzz")
    host = "alpha.localhost"
    failures, statuses = _fuzz(
        _schema("config.urls_tenant"),
        app=wsgi_app,
        host=host,
        headers={"Authorization": f"Token {key}"},
        cookies={},
        ids=ids,
    )
    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)
    _assert_reached(statuses, expected_operations=70)


@pytest.mark.django_db
def test_public_api_answers_every_fuzzed_request_as_documented(wsgi_app):
    owner = User.objects.get(email="owner@alpha.test")
    token, _key = api_token_create(user=owner, name="fuzz")
    host = settings.BASE_DOMAIN
    failures, statuses = _fuzz(
        _schema("config.urls_public"),
        app=wsgi_app,
        host=host,
        # The token endpoints take a browser session only (tokens cannot mint tokens).
        headers={"X-CSRFToken": CSRF_TOKEN},
        cookies={settings.SESSION_COOKIE_NAME: _session_cookie(owner, host), settings.CSRF_COOKIE_NAME: CSRF_TOKEN},
        ids={"token_id": token.pk},
    )
    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)
    _assert_reached(statuses, expected_operations=5)
