"""Sub-tasks and time in the browser: add sub-tasks, log time on one, see the progress
and the roll-up on the parent and its card, close the parent through the confirm step."""

from playwright.sync_api import expect

from tenant_apps.tasks.models import Task
from tenant_apps.timetracking.models import TimeEntry
from tests.browser.conftest import assert_accessible


def test_subtasks_time_roll_up_and_closing_the_parent_asks_first(as_user, workspace):
    workspace.project_seed(titles=("Launch the site",))
    page = as_user(workspace.member)
    page.goto(workspace.url("/tasks/WEB-1/"))

    for title in ("Write the copy", "Pick the photos"):
        page.get_by_label("Sub-task title").fill(title)
        page.get_by_role("button", name="Add sub-task").click()
        expect(page.get_by_role("link", name=f"WEB-{2 if title == 'Write the copy' else 3} {title}")).to_be_visible()
    expect(page.locator("[data-subtask-progress]")).to_have_text("0 of 2 closed")

    page.get_by_role("link", name="WEB-2 Write the copy").click()
    expect(page).to_have_url(workspace.url("/tasks/WEB-2/"))
    page.locator("#time").get_by_label("Time spent").fill("1h 30m")
    page.locator("#time").get_by_label("Note").fill("first draft")
    page.get_by_role("button", name="Log time").click()
    expect(page.locator("[data-time-spent]")).to_have_text("Logged: 1h 30m")
    assert_accessible(page, what="task page with a time entry")

    page.get_by_role("link", name="WEB-1 Launch the site").click()
    expect(page.locator("[data-time-total]")).to_have_text("With sub-tasks: 1h 30m")
    page.get_by_label("Status").select_option(label="Done")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("alert")).to_contain_text("2 sub-tasks are still open")
    with workspace.schema():
        assert Task.objects.get(number=1).status == "todo"
    page.get_by_role("button", name="Close it anyway").click()
    expect(page.get_by_label("Status").locator("option:checked")).to_have_text("Done")

    page.goto(workspace.url("/projects/WEB/"))
    expect(page.locator(".card", has_text="Launch the site").locator("[data-subtasks]")).to_contain_text("0/2")
    with workspace.schema():
        assert Task.objects.get(number=1).status == "done"
        assert list(Task.objects.filter(parent__number=1).order_by("number").values_list("title", flat=True)) == [
            "Write the copy",
            "Pick the photos",
        ]
        entry = TimeEntry.objects.get()
        assert (entry.task.number, entry.minutes, entry.note, entry.member.email) == (
            2,
            90,
            "first draft",
            workspace.member.email,
        )


def test_board_asks_before_closing_a_parent_by_drag_and_by_the_card_menu(as_user, workspace):
    from tenant_apps.tasks.services import task_create

    project = workspace.project_seed(titles=("Launch the site",))
    with workspace.schema():
        parent = Task.objects.get(number=1)
        task_create(project=project, actor=workspace.member_of(workspace.owner), title="Write the copy", parent=parent)
    page = as_user(workspace.member)
    page.goto(workspace.url("/projects/WEB/"))
    todo, done = page.get_by_role("list", name="To do"), page.get_by_role("list", name="Done")
    card = todo.get_by_role("listitem").filter(has_text="Launch the site")
    dialog = page.locator("#board-confirm")

    # Dragged to Done: asked; kept open, the card goes back.
    card.drag_to(done)
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("1 sub-task is still open (WEB-2)")
    assert_accessible(page, what="board asking before closing a parent")
    dialog.get_by_role("button", name="Keep it open").click()
    expect(dialog).to_be_hidden()
    expect(todo.get_by_role("listitem").filter(has_text="Launch the site")).to_be_visible()
    with workspace.schema():
        assert Task.objects.get(number=1).status == "todo"

    # Dragged again and confirmed: closed, its sub-task still open.
    todo.get_by_role("listitem").filter(has_text="Launch the site").drag_to(done)
    dialog.get_by_role("button", name="Close it anyway").click()
    expect(done.get_by_role("listitem").filter(has_text="Launch the site")).to_be_visible()
    expect(page.locator(".toast").last).to_contain_text("WEB-1 moved to")
    with workspace.schema():
        assert dict(Task.objects.values_list("number", "status")) == {1: "done", 2: "todo"}

    # The card menu (no mouse needed): back to To do is no question, to Done asks again.
    with workspace.schema():
        Task.objects.filter(number=1).update(status="todo", state=project.states.get(category="todo"))
    page.reload()
    page.locator("[data-number='1'] details[data-card-menu] summary").click()
    page.locator("[data-number='1'] details[data-card-menu]").get_by_role("button", name="Done").click()
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Close it anyway").click()
    done = page.get_by_role("list", name="Done")
    expect(done.get_by_role("listitem").filter(has_text="Launch the site")).to_be_visible()
    with workspace.schema():
        assert Task.objects.get(number=1).status == "done"
