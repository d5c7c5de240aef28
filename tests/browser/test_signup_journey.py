"""A newcomer's first minutes: sign up on the root domain, confirm the emailed link, log
in to the new organisation, create its first project and tasks, move them on the board,
assign a colleague."""

from allauth.account.models import EmailAddress
from django_tenants.utils import schema_context
from playwright.sync_api import expect

from shared_apps.accounts.models import User
from shared_apps.tenants.models import Membership, Organization, OrgRole
from shared_apps.tenants.services import membership_add
from tenant_apps.members.models import Member
from tenant_apps.projects.models import Project, Role
from tenant_apps.projects.registry import DEVELOPER
from tenant_apps.projects.services import project_member_set
from tenant_apps.tasks.models import Activity, Task, TaskStatus
from tests.browser.conftest import assert_accessible, eventually, screenshot_both_themes, unique_slug

PASSWORD = "a-long-new-password-42"


def test_signup_confirm_first_project_three_tasks_drag_reorder_and_assign(new_context, tessera, outbox, committed):
    slug = unique_slug("new")
    address = f"founder@{slug}.test"
    page = new_context().new_page()
    page.goto(tessera.url("/accounts/signup/"))
    screenshot_both_themes(page, "signup", save=False)

    # A taken address is refused next to the field, and nothing is created.
    page.get_by_label("Email").fill(address)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_label("Organisation name").fill("Founders Inc")
    page.get_by_label("Address").fill("admin")
    page.get_by_role("button", name="Sign Up").click()
    expect(page.locator(".field.invalid")).to_contain_text("Address")
    assert_accessible(page, what="sign-up with an error")
    assert not User.objects.filter(email=address).exists()

    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_label("Address").fill(slug)
    # Sign-up creates and migrates the organisation's schema (the spare pool is empty in
    # tests): seconds, more on a busy machine.
    page.get_by_role("button", name="Sign Up").click(timeout=60_000)
    expect(page.get_by_role("heading", level=1)).to_have_text("Verify Your Email Address")
    assert_accessible(page, what="verification sent")
    organization = Organization.objects.get(slug=slug)
    assert organization.name == "Founders Inc"
    assert Membership.objects.get(organization=organization).role == OrgRole.OWNER
    assert not EmailAddress.objects.get(email=address).verified

    message = outbox.wait_for(to=address)
    page.goto(outbox.link(message, "/accounts/confirm-email/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm Email Address")
    assert_accessible(page, what="email confirmation")
    page.get_by_role("button", name="Confirm").click()
    assert EmailAddress.objects.get(email=address).verified

    # Into the organisation's own address; on localhost its cookies are its own, so the
    # person logs in there once.
    expect(page).to_have_url(tessera.url("/accounts/login/?next=/", slug=slug))
    page.get_by_label("Email").fill(address)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page).to_have_url(tessera.url("/", slug=slug))

    # The empty organisation invites to create a project.
    expect(page.get_by_role("heading", name="Start with a project")).to_be_visible()
    page.get_by_role("link", name="Create a project").click()
    page.get_by_label("Name", exact=True).fill("Website")
    expect(page.get_by_text("Suggested: WEB")).to_be_visible()
    page.get_by_role("button", name="Create project").click()
    expect(page).to_have_url(tessera.url("/projects/WEB/", slug=slug))
    with schema_context(organization.schema_name):
        project = Project.objects.get(key="WEB")
        assert project.name == "Website"

    # Three tasks, one after the other ("create another" keeps the form open).
    page.get_by_role("link", name="New task").click()
    for number, title in enumerate(("Write the copy", "Draw the logo", "Ship it"), start=1):
        page.get_by_label("Title").fill(title)
        page.get_by_label("Create another").check()
        page.get_by_role("button", name="Create task").click()
        expect(page.get_by_role("status").filter(has_text=f"WEB-{number} created")).to_be_visible()
    with schema_context(organization.schema_name):
        assert list(Task.objects.filter(project=project).order_by("number").values_list("title", flat=True)) == [
            "Write the copy",
            "Draw the logo",
            "Ship it",
        ]

    # Drag one to Done: status, completed_at and the activity change in the database.
    page.goto(tessera.url("/projects/WEB/", slug=slug))
    todo = page.get_by_role("list", name="To do")
    done = page.get_by_role("list", name="Done")
    todo.get_by_role("listitem").filter(has_text="Ship it").drag_to(done)
    expect(done.get_by_role("listitem").filter(has_text="Ship it")).to_be_visible()

    def shipped():
        with schema_context(organization.schema_name):
            return Task.objects.filter(project=project, number=3, status=TaskStatus.DONE).first()

    task = eventually(shipped, what="WEB-3 done in the database")
    assert task.completed_at is not None
    with schema_context(organization.schema_name):
        assert Activity.objects.filter(task=task, field="state", old_value="To do", new_value="Done").exists()

    # Reorder a column (the second card above the first) and reload: the order is kept.
    first = todo.get_by_role("listitem").filter(has_text="Write the copy")
    todo.get_by_role("listitem").filter(has_text="Draw the logo").drag_to(first, target_position={"x": 20, "y": 3})
    expect(todo.get_by_role("listitem").first).to_contain_text("Draw the logo")

    def reordered():
        with schema_context(organization.schema_name):
            ranks = dict(Task.objects.filter(project=project).values_list("number", "rank"))
        return ranks[2] < ranks[1]

    eventually(reordered, what="WEB-2 ranked above WEB-1")
    page.reload()
    expect(todo.get_by_role("listitem")).to_have_count(2)
    expect(todo.get_by_role("listitem").first).to_contain_text("Draw the logo")
    expect(todo.get_by_role("listitem").nth(1)).to_contain_text("Write the copy")

    # Assign a second member (who joined the organisation and the project: the member
    # pages come in part 2) on the task's page.
    colleague = User.objects.create_user(email=f"colleague@{slug}.test", password=PASSWORD, full_name="Kim Colleague")
    membership_add(organization=organization, user=colleague, role=OrgRole.MEMBER)
    with schema_context(organization.schema_name):
        project_member_set(
            project=project,
            member=Member.objects.get(user_id=colleague.pk),
            role=Role.objects.get(name=DEVELOPER),
        )
    page.goto(tessera.url("/tasks/WEB-1/", slug=slug))
    page.get_by_label("Kim Colleague").check()
    page.get_by_role("button", name="Save changes").click()

    def assigned():
        with schema_context(organization.schema_name):
            return list(Task.objects.get(project=project, number=1).assignees.values_list("user_id", flat=True))

    assert eventually(assigned, what="WEB-1 assigned") == [colleague.pk]
    page.reload()
    expect(page.get_by_label("Kim Colleague")).to_be_checked()
