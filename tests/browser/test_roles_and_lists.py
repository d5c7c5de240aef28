"""A Viewer's journey (sees everything, can change nothing, and the server refuses what
the page does not offer), and the list: filters, search in Russian, the interface in
Russian."""

import re

from playwright.sync_api import expect

from shared_apps.accounts.models import User
from tenant_apps.tasks.models import Task, TaskStatus
from tenant_apps.tasks.services import task_update


def _forced_post(page, path: str, form: dict, accept: str = "text/html") -> int:
    """POST `form` from the page's own JavaScript (its cookies and CSRF token, as a
    tampered page would): the status code of the answer."""
    return page.evaluate(
        """async ([path, form, accept]) => {
            const token = document.cookie.split("; ").find((c) => c.startsWith("csrftoken="))?.split("=")[1];
            const response = await fetch(path, {
                method: "POST", headers: {"X-CSRFToken": token, Accept: accept}, body: new URLSearchParams(form),
            });
            return response.status;
        }""",
        [path, form, accept],
    )


def test_viewer_sees_no_edit_controls_and_a_forced_post_is_refused(as_user, workspace):
    workspace.project_seed(titles=("Read-only task",))
    page = as_user(workspace.viewer)
    page.goto(workspace.url("/projects/WEB/"))
    card = page.get_by_role("list", name="To do").get_by_role("listitem").filter(has_text="Read-only task")
    expect(card).to_be_visible()
    expect(card.get_by_label("Move WEB-1")).to_have_count(0)
    expect(card).not_to_have_attribute("draggable", "true")

    page.goto(workspace.url("/tasks/WEB-1/"))
    expect(page.get_by_role("heading", name="Read-only task", level=1)).to_be_visible()
    for control in ("Save changes", "Comment", "Delete task"):
        expect(page.get_by_role("button", name=control, exact=True)).to_have_count(0)
    expect(page.get_by_role("textbox", name="Title")).to_have_count(0)
    expect(page.get_by_label("Add a comment")).to_have_count(0)
    expect(page.get_by_text("Drop files here")).to_have_count(0)

    # What the page does not offer, forced from the same browser session, is refused.
    with workspace.schema():
        version = Task.objects.get(number=1).version
    edit = _forced_post(page, "/tasks/WEB-1/edit/", {"fields": "title", "title": "Forced", "version": str(version)})
    # As the board's drag script sends it (a plain form gets the board back, with why).
    move = _forced_post(page, "/projects/WEB/move/", {"number": "1", "status": "done"}, accept="application/json")
    comment = _forced_post(page, "/tasks/WEB-1/comment/", {"body": "Forced"})
    assert (edit, move, comment) == (403, 403, 403)
    with workspace.schema():
        task = Task.objects.get(number=1)
        assert (task.title, task.status, task.version, task.comments.count()) == (
            "Read-only task",
            TaskStatus.TODO,
            version,
            0,
        )


def test_list_filters_by_assignee_and_status_searches_russian_and_switches_to_russian(as_user, workspace):
    workspace.project_seed(titles=("Исправить вход через почту", "Write the docs", "Deploy the site"))
    with workspace.schema():
        owner = workspace.member_of(workspace.owner)
        member = workspace.member_of(workspace.member)
        for number, status in ((1, TaskStatus.IN_PROGRESS), (2, TaskStatus.IN_PROGRESS), (3, TaskStatus.TODO)):
            task_update(
                task=Task.objects.get(number=number), actor=owner, data={"status": status, "assignees": [member]}
            )
        task_update(task=Task.objects.get(number=2), actor=owner, data={"assignees": []})

    page = as_user(workspace.owner)
    page.goto(workspace.url("/projects/WEB/list/"))
    rows = page.get_by_role("table", name="Tasks").get_by_role("row")
    expect(rows).to_have_count(4)  # the head and three tasks

    filters = page.get_by_role("search", name="Filter tasks")
    filters.get_by_label("Assignee").select_option(label="Mikhail Member")
    expect(rows).to_have_count(3)
    # The URL carries the filters, so the view can be shared.
    expect(page).to_have_url(re.compile(rf"/projects/WEB/list/\?.*assignee={member.pk}"))
    page.get_by_text("More filters").click()
    page.get_by_role("group", name="Status").get_by_label("In progress").check()
    page.get_by_role("button", name="Apply").first.click()
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("Исправить вход через почту")
    expect(page).to_have_url(re.compile(rf"assignee={member.pk}.*status=in_progress"))

    # Search a Russian word: found and highlighted.
    page.goto(workspace.url("/projects/WEB/list/"))
    filters.get_by_label("Text").fill("вход")
    filters.get_by_label("Text").press("Enter")
    expect(rows).to_have_count(2)
    expect(rows.nth(1).locator("mark")).to_have_text("вход")

    # The interface in Russian, kept on the account.
    page.get_by_label("Your account").click()
    page.get_by_role("button", name="Русский").click()
    expect(page.get_by_role("link", name="Доска")).to_be_visible()
    expect(page.get_by_role("table", name="Задачи")).to_be_visible()
    assert User.objects.get(pk=workspace.owner.pk).language == "ru"
