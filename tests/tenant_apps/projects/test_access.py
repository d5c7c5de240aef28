"""The doors (access_* helpers) and the task field map: 404 whether missing or hidden,
403 when visible but the code is not held, the same from every caller."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms import CharField, Form
from django.http import Http404
from django.test import RequestFactory
from django_tenants.utils import schema_context

from shared_apps.core.pages import ServiceErrorMiddleware, form_errors_from
from shared_apps.tenants.models import OrgRole
from shared_apps.tenants.services import membership_add
from tenant_apps.members.models import Member
from tenant_apps.notifications.permissions import access_webhook
from tenant_apps.projects.models import Role
from tenant_apps.projects.permissions import access_project, access_role
from tenant_apps.projects.registry import task_field_codes
from tenant_apps.projects.services import project_create, project_member_set
from tenant_apps.tasks.models import Task
from tenant_apps.tasks.permissions import access_comment, access_label, access_task
from tenant_apps.tasks.services import comment_create, label_save, task_create, task_update
from tests.factories import UserFactory


def _member(organization, role=OrgRole.MEMBER) -> Member:
    user = UserFactory()
    membership_add(organization=organization, user=user, role=role)
    return Member.objects.get(user_id=user.pk)


@pytest.fixture
def world(org_a):
    with schema_context(org_a.schema_name):
        owner = Member.objects.get(email="owner@alpha.test")
        web = project_create(key="WEB", name="Website", actor=owner)
        reporter = _member(org_a)
        project_member_set(project=web, member=reporter, role=Role.objects.get(name="Reporter"))
        guest = _member(org_a, OrgRole.GUEST)
        member = _member(org_a)
        task = task_create(project=web, actor=owner, title="Door")
        yield {"owner": owner, "web": web, "reporter": reporter, "guest": guest, "member": member, "task": task}


@pytest.mark.django_db
def test_access_task_is_404_for_missing_and_hidden_alike(world):
    for member, number in ((world["owner"], 999), (world["guest"], world["task"].number), (None, world["task"].number)):
        with pytest.raises(Http404):
            access_task(member=member, project="WEB", number=number)
    with pytest.raises(Http404):
        access_task(member=world["owner"], project="NOPE", number=world["task"].number)


@pytest.mark.django_db
def test_access_task_is_403_when_visible_but_the_code_is_missing(world):
    number = world["task"].number
    assert access_task(member=world["member"], project="WEB", number=number).pk == world["task"].pk
    with pytest.raises(PermissionDenied):
        access_task(member=world["member"], project="WEB", number=number, code="task.delete")
    # Hidden wins over forbidden: the guest learns nothing, even for a code they lack.
    with pytest.raises(Http404):
        access_task(member=world["guest"], project="WEB", number=number, code="task.delete")
    found = access_task(member=world["owner"], project=world["web"], number=number, code="task.delete")
    assert found.pk == world["task"].pk


@pytest.mark.django_db
def test_access_project_comment_label_and_role(world):
    web = access_project(member=world["reporter"], key="WEB", fresh=True)
    with pytest.raises(PermissionDenied):
        access_project(member=world["reporter"], key="WEB", code="project.manage")
    comment = comment_create(task=world["task"], actor=world["reporter"], body="hi")
    found = access_comment(member=world["member"], project=web, number=world["task"].number, comment_id=comment.pk)
    assert found.pk == comment.pk
    with pytest.raises(Http404):
        access_comment(member=world["member"], project=web, number=world["task"].number + 1, comment_id=comment.pk)
    label = label_save(project=web, name="bug")
    with pytest.raises(PermissionDenied):
        access_label(member=world["reporter"], project=web, label_id=label.pk, code="project.manage")
    with pytest.raises(PermissionDenied):  # managing roles: owners and admins, checked first
        access_role(member=world["member"], role_id=0)
    with pytest.raises(Http404):
        access_role(member=world["owner"], role_id=0)
    with pytest.raises(PermissionDenied):
        access_webhook(member=world["member"], webhook_id=0)


def test_task_field_map_names_one_code_per_field():
    assert task_field_codes(["status"]) == {"task.change_status"}
    assert task_field_codes(["assignees"]) == {"task.assign"}
    assert task_field_codes(["title", "labels", "due_date"]) == {"task.edit"}
    assert task_field_codes([]) == set()


@pytest.mark.django_db
def test_task_services_check_the_field_map_for_every_caller(world):
    reporter, task = world["reporter"], world["task"]
    with pytest.raises(PermissionDenied):
        task_update(task=task, actor=reporter, data={"status": "done"})
    with pytest.raises(PermissionDenied):
        task_update(task=task, actor=reporter, data={"title": "Renamed"})
    with pytest.raises(PermissionDenied):
        task_create(project=world["web"], actor=reporter, title="Assigned", assignees=[world["owner"]])
    with pytest.raises(PermissionDenied):
        task_create(project=world["web"], actor=reporter, title="Started", status="in_progress")
    with pytest.raises(PermissionDenied):
        task_create(project=world["web"], actor=world["member"], title="No role")
    assert Task.objects.get(pk=task.pk).status == "todo"
    assert Task.objects.count() == 1
    assert task_create(project=world["web"], actor=reporter, title="Reported").reporter_id == reporter.pk


class _NameForm(Form):
    name = CharField()


def test_form_errors_from_puts_service_errors_on_the_form():
    form = _NameForm({"name": "x"})
    assert form.is_valid()
    reached = []
    with form_errors_from(form):
        raise ValidationError({"name": "Taken.", "other": "Elsewhere."})
    with form_errors_from(form):
        raise ValidationError("Not now.")
    reached.append(True)
    assert form.errors["name"] == ["Taken."]
    assert form.non_field_errors() == ["Elsewhere.", "Not now."]
    assert reached == [True]


def test_service_error_middleware_answers_400_not_500():
    request = RequestFactory().get("/")
    response = ServiceErrorMiddleware(lambda request: None).process_exception(request, ValidationError("Nope."))
    assert response.status_code == 400
    assert b"Nope." in response.content
    assert ServiceErrorMiddleware(lambda request: None).process_exception(request, KeyError("x")) is None
