"""Every page of an organisation, as a person with work in it sees them: axe-core finds no
serious or critical violation in the light or the dark theme, and `make screenshots`
saves them (docs/screenshots/, shown in README.md)."""

from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from tenant_apps.notifications.models import Notification
from tenant_apps.tasks.models import Task, TaskPriority, TaskStatus
from tenant_apps.tasks.services import comment_create, label_save, task_create, task_update
from tests.browser.conftest import eventually, screenshot_both_themes

# The default workflow's "In review" state (category in progress).
IN_REVIEW = "In review"
TASKS = [
    # title, status (or IN_REVIEW), priority, due in days, labels, assigned to the owner
    ("Fix the login redirect on Safari", TaskStatus.IN_PROGRESS, TaskPriority.URGENT, -1, ["bug"], True),
    ("Write the onboarding emails", TaskStatus.TODO, TaskPriority.MEDIUM, 3, ["content"], True),
    ("Design the pricing page", IN_REVIEW, TaskPriority.HIGH, 5, ["design"], False),
    ("Set up error monitoring", TaskStatus.TODO, TaskPriority.LOW, None, [], False),
    ("Translate the app into Russian", TaskStatus.IN_PROGRESS, TaskPriority.MEDIUM, 10, ["content"], True),
    ("Publish the changelog", TaskStatus.DONE, TaskPriority.NONE, None, ["content"], False),
    ("Choose the analytics tool", TaskStatus.TODO, TaskPriority.NONE, 14, [], False),
    ("Migrate the old tickets", TaskStatus.DONE, TaskPriority.MEDIUM, None, [], True),
]


def _seed(workspace) -> None:
    # A friendlier name in the screenshots (before the server has looked the domain up).
    workspace.organization.name = "Acme Inc."
    workspace.organization.save(update_fields=["name"])
    project = workspace.project_seed()
    today = timezone.localdate()
    with workspace.schema():
        owner = workspace.member_of(workspace.owner)
        member = workspace.member_of(workspace.member)
        labels = {name: label_save(project=project, name=name, color=color) for name, color in
                  (("bug", "#d73a4a"), ("content", "#0e8a16"), ("design", "#5319e7"))}  # fmt: skip
        for title, status, priority, due, label_names, mine in TASKS:
            task = task_create(
                project=project,
                actor=owner,
                title=title,
                state=project.states.get(name=IN_REVIEW) if status == IN_REVIEW else None,
                status=None if status == IN_REVIEW else status,
                priority=priority,
                due_date=today + timedelta(days=due) if due is not None else None,
                labels=[labels[name] for name in label_names],
                assignees=[member],
            )
            if mine:
                # The member hands it to the owner: the owner's inbox gets the notification.
                task_update(task=task, actor=member, data={"assignees": [owner, member]})
        first = Task.objects.get(number=1)
        task_update(
            task=first,
            actor=owner,
            data={"description": "Safari drops the `next` parameter after login.\n\n- reproduce\n- fix\n- test"},
        )
        comment_create(task=first, actor=member, body=f"Reproduced on Safari 18, @{workspace.owner.email}.")


def test_every_page_passes_axe_in_both_themes(as_user, workspace):
    _seed(workspace)

    def inbox_filled():
        with workspace.schema():
            return Notification.objects.filter(recipient=workspace.member_of(workspace.owner)).count() >= 4

    eventually(inbox_filled, seconds=20, what="the owner's notifications")
    page = as_user(workspace.owner)
    tour = [
        # name, path, its heading, saved by `make screenshots`
        ("home", "/", "My work", True),
        ("projects", "/projects/", "Projects", False),
        ("board", "/projects/WEB/", "Website", True),
        ("list", "/projects/WEB/list/", "Website", True),
        ("task", "/tasks/WEB-1/", None, True),
        ("inbox", "/inbox/", "Inbox", True),
        ("search", "/search/?q=Safari", None, False),
        ("new-task", "/tasks/new/?project=WEB", "New task", False),
        ("not-found", "/tasks/WEB-999/", None, False),
        ("project-delete", "/projects/WEB/delete/", None, False),
        ("all-tasks", "/tasks/", "All tasks", False),
        ("coming-soon", "/soon/members/", "Members", False),
        ("members", "/settings/members/", "Members", True),
        ("roles", "/settings/roles/", "Project roles", True),
        ("role-new", "/settings/roles/new/", "New role", False),
        ("audit", "/settings/audit/", "Audit log", True),
        ("organization-settings", "/settings/organization/", "Organisation settings", True),
        ("billing", "/billing/", "Billing for Acme Inc.", True),
        ("account-email", "/accounts/email/", None, False),
        ("account-notifications", "/account/notifications/", "Notifications", False),
        ("two-factor", "/accounts/2fa/", None, False),
        ("logout", "/accounts/logout/", None, False),
    ]
    for name, path, heading, save in tour:
        page.goto(workspace.url(path))
        if heading:
            expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
        screenshot_both_themes(page, name, save=save)
    # The side panel: the task opened from the board.
    page.goto(workspace.url("/projects/WEB/"))
    page.get_by_role("link", name="Fix the login redirect on Safari").click()
    expect(page.get_by_role("complementary", name="WEB-1")).to_be_visible()
    screenshot_both_themes(page, "board-panel", save=False)
