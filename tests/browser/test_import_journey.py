"""Importing a CSV file in the browser: upload, map, the preview shows an error, import
the valid rows, the progress bar, the tasks appear in the list (real gunicorn and
Celery worker)."""

from playwright.sync_api import expect

from tenant_apps.imports.models import TaskImport
from tenant_apps.tasks.models import Task
from tests.browser.conftest import assert_accessible


def test_import_the_valid_rows_of_a_csv_file(as_user, workspace, tmp_path):
    workspace.project_seed(titles=("Already there",))
    member_email = workspace.member.email
    csv_file = tmp_path / "plan.csv"
    csv_file.write_text(
        "Название;Исполнитель;Срок;Colour\n"
        f"Write the release notes;{member_email};2026-12-20;red\n"
        "Plan the launch;;31.12.2026;\n"
        "Broken date;;2026-13-45;\n",
        encoding="utf-8",
    )
    page = as_user(workspace.member)
    page.goto(workspace.url("/projects/WEB/list/"))
    page.get_by_role("link", name="Import CSV").click()
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    page.get_by_role("button", name="Upload and check").click()

    # The mapping is suggested from the Russian headers; the unknown column and the bad
    # date are shown with their row and column.
    expect(page.get_by_label("Название")).to_have_value("title")
    expect(page.get_by_label("Исполнитель")).to_have_value("assignees")
    expect(page.get_by_text("Unknown column: choose the field it fills, or “Skip”.").first).to_be_visible()
    expect(page.get_by_text("Row 4, column “Срок”")).to_be_visible()
    assert_accessible(page, what="the import's mapping and preview")

    page.get_by_label("Colour").select_option(label="Skip this column")
    page.get_by_label("Import only the valid rows").check()
    page.get_by_role("button", name="Start the import").click()
    expect(page.get_by_text("2 tasks imported.")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Row 4, column “Срок”")).to_be_visible()
    assert_accessible(page, what="the import's result")

    page.get_by_role("link", name="See the tasks").click()
    expect(page.get_by_role("link", name="Write the release notes")).to_be_visible()
    expect(page.get_by_role("link", name="Plan the launch")).to_be_visible()
    with workspace.schema():
        tasks = {task.title: task for task in Task.objects.filter(project__key="WEB")}
        assert set(tasks) == {"Already there", "Write the release notes", "Plan the launch"}
        notes = tasks["Write the release notes"]
        assert notes.number == 2
        assert list(notes.assignees.values_list("email", flat=True)) == [member_email]
        task_import = TaskImport.objects.get()
        assert (task_import.status, task_import.imported_count, task_import.error_count) == ("done", 2, 1)
        assert task_import.storage_key == ""
