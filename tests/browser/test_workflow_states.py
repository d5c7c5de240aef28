"""Workflow states (issue 15): a project manager adds a state on the project's settings
page, it becomes a board column, a card moves into it from its menu, and deleting it
moves its tasks to the state chosen. The database is checked after each step."""

from playwright.sync_api import expect

from tenant_apps.projects.models import WorkflowState
from tenant_apps.tasks.models import Task
from tests.browser.conftest import assert_accessible


def test_a_manager_adds_a_state_uses_it_on_the_board_and_deletes_it_moving_its_tasks(as_user, workspace):
    workspace.project_seed(titles=("Check the invoices",))
    page = as_user(workspace.owner)
    page.goto(workspace.url("/projects/WEB/"))
    page.get_by_role("link", name="Workflow").click()
    expect(page.get_by_role("heading", name="Workflow states")).to_be_visible()
    assert_accessible(page, what="workflow states")

    page.get_by_role("textbox", name="Name", exact=True).fill("QA")
    page.get_by_label("Category", exact=True).select_option("in_progress")
    page.get_by_role("button", name="Add state").click()
    expect(page.get_by_text("State “QA” added.")).to_be_visible()
    with workspace.schema():
        assert list(WorkflowState.objects.filter(project__key="WEB").values_list("name", "category"))[-1] == (
            "QA",
            "in_progress",
        )

    # A bad name is refused next to its field, nothing added.
    page.get_by_role("textbox", name="Name", exact=True).fill("qa")
    page.get_by_role("button", name="Add state").click()
    expect(page.get_by_text("A state named “qa” exists in this project.")).to_be_visible()
    with workspace.schema():
        assert WorkflowState.objects.filter(project__key="WEB").count() == 6

    page.goto(workspace.url("/projects/WEB/"))
    expect(page.get_by_role("list", name="QA")).to_be_visible()
    page.get_by_role("listitem").filter(has_text="Check the invoices").get_by_label("Move WEB-1").click()
    page.get_by_role("button", name="QA").click()
    expect(page.get_by_role("list", name="QA").get_by_text("Check the invoices")).to_be_visible()
    with workspace.schema():
        task = Task.objects.select_related("state").get(number=1)
        assert (task.state.name, task.status) == ("QA", "in_progress")

    page.goto(workspace.url("/projects/WEB/settings/states/"))
    page.get_by_label("Move its tasks to").last.select_option(label="Done")
    page.get_by_role("button", name="Delete QA").click()
    expect(page.get_by_text("State “QA” deleted; 1 task(s) moved.")).to_be_visible()
    with workspace.schema():
        task = Task.objects.select_related("state").get(number=1)
        assert (task.state.name, task.status, task.completed_at is not None) == ("Done", "done", True)
        assert not WorkflowState.objects.filter(name="QA").exists()
