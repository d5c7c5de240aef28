"""Relations (issue 15): a member marks a task blocked by another on its page, the board
card says so, and marking a duplicate closes it. The database is checked after each step."""

from playwright.sync_api import expect

from tenant_apps.tasks.models import Task, TaskRelation


def test_a_member_relates_tasks_on_the_task_page_and_the_board_shows_the_blocker(as_user, workspace):
    workspace.project_seed(titles=("Design the API", "Build the client", "Build the client again"))
    page = as_user(workspace.member)
    page.goto(workspace.url("/tasks/WEB-2/"))
    page.get_by_label("This task").select_option("blocked_by")
    page.get_by_label("Task key").fill("WEB-1")
    page.get_by_role("button", name="Add relation").click()
    relations = page.get_by_role("region", name="Relations")
    expect(relations.get_by_role("listitem").filter(has_text="Design the API")).to_be_visible()
    with workspace.schema():
        relation = TaskRelation.objects.select_related("source", "target").get()
        assert (relation.source.number, relation.target.number, relation.kind) == (1, 2, "blocks")

    page.goto(workspace.url("/projects/WEB/"))
    card = page.get_by_role("listitem").filter(has_text="Build the client").first
    expect(card.get_by_text("Blocked by WEB-1")).to_be_visible()

    page.goto(workspace.url("/tasks/WEB-3/"))
    page.get_by_label("This task").select_option("duplicates")
    page.get_by_label("Task key").fill("WEB-2")
    page.get_by_role("button", name="Add relation").click()
    expect(
        page.get_by_role("region", name="Relations").get_by_role("listitem").filter(has_text="WEB-2")
    ).to_be_visible()
    with workspace.schema():
        duplicate = Task.objects.select_related("state").get(number=3)
        assert (duplicate.state.name, duplicate.status) == ("Cancelled", "cancelled")
