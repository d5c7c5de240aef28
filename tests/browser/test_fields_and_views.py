"""A project manager's journey through custom fields and saved views: define a select
field on the project's settings page, set it on a task from the task page, filter the
list by it, save the filtered list as a view, open the view from the side navigation —
axe-checked, and the database asserted after each step."""

import re

from playwright.sync_api import expect

from tenant_apps.fields.models import CustomField, CustomFieldValue
from tenant_apps.savedviews.models import SavedView
from tests.browser.conftest import assert_accessible


def test_define_a_select_field_set_it_filter_by_it_and_save_the_view(as_user, workspace):
    workspace.project_seed(titles=("Checkout fails on Safari", "Update the footer"))
    page = as_user(workspace.owner)

    page.goto(workspace.url("/projects/WEB/settings/fields/"))
    page.get_by_label("Name", exact=True).last.fill("Severity")
    page.get_by_label("Kind").select_option("select")
    page.get_by_label("Options (one per line)").last.fill("Low\nHigh")
    page.get_by_label("Show on cards and in the list").last.check()
    page.get_by_role("button", name="Add field").click()
    expect(page.get_by_text("Field “Severity” added.")).to_be_visible()
    assert_accessible(page, what="custom fields settings")
    with workspace.schema():
        field = CustomField.objects.get(name="Severity")
        high = field.options.get(name="High").pk

    page.goto(workspace.url("/tasks/WEB-1/"))
    page.get_by_label("Severity").select_option(label="High")
    page.get_by_role("button", name="Save fields").click()
    expect(page.get_by_label("Severity")).to_have_value(str(high))
    with workspace.schema():
        assert CustomFieldValue.objects.get(field=field).task.number == 1

    page.goto(workspace.url("/projects/WEB/list/"))
    rows = page.get_by_role("table", name="Tasks").get_by_role("row")
    expect(rows).to_have_count(3)
    page.get_by_role("search", name="Filter tasks").get_by_label("Severity").select_option(label="High")
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("Checkout fails on Safari")
    expect(rows.nth(1)).to_contain_text("High")  # the field's column
    expect(page).to_have_url(re.compile(rf"field_{field.pk}={high}"))
    assert_accessible(page, what="list filtered by a custom field")

    page.get_by_role("link", name="Save current view").click()
    page.get_by_label("Name").fill("Severe bugs")
    page.get_by_label("Share with the project").check()
    page.get_by_role("button", name="Save view").click()
    expect(page.get_by_text("View “Severe bugs” saved.")).to_be_visible()
    with workspace.schema():
        view = SavedView.objects.get()
        assert (view.name, view.shared, view.filters) == ("Severe bugs", True, {f"field_{field.pk}": [str(high)]})

    # From elsewhere, the side navigation opens it.
    page.goto(workspace.url("/projects/"))
    page.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile("Severe bugs")).click()
    expect(page).to_have_url(re.compile(rf"/projects/WEB/list/\?view={view.pk}"))
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("Checkout fails on Safari")
    assert_accessible(page, what="a saved view")
