"""Keyboard first, mentions by type-ahead, and a 360 px phone: what a person does with
the keys the app offers (`?`, `/`, `c`, `g l`, `j`/`k`, Enter, `e`, Esc), an @mention
picked from the type-ahead, and the pages on a phone (no sideways scrolling, the
navigation behind its Menu button). Each journey checks the database afterwards."""

import re

from playwright.sync_api import expect

from tenant_apps.notifications.models import EventKind, Notification
from tenant_apps.tasks.models import Comment, Task
from tests.browser.conftest import eventually

PHONE = {"width": 360, "height": 740}
SELECTED = re.compile(r"\bnav-selected\b")


def test_keyboard_shortcuts_search_create_go_to_the_list_move_open_and_edit(as_user, workspace):
    workspace.project_seed(titles=("Plan the launch", "Write the docs", "Fix the login"))
    page = as_user(workspace.member)
    page.goto(workspace.url("/projects/WEB/"))
    body = page.locator("body")

    # ? lists the shortcuts; Esc closes the list.
    body.press("?")
    help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(help_dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()

    # / puts the cursor in the search box.
    body.press("/")
    expect(page.get_by_label("Search tasks and projects")).to_be_focused()
    page.keyboard.press("Escape")
    page.get_by_label("Search tasks and projects").blur()

    # c opens New task for this project; Enter in the title creates it.
    body.press("c")
    dialog = page.get_by_role("dialog", name="New task")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Title").fill("Made from the keyboard")
    dialog.get_by_label("Title").press("Enter")
    expect(dialog).to_be_hidden()
    expect(page.locator(".column-cards").get_by_text("Made from the keyboard")).to_be_visible()
    with workspace.schema():
        made = Task.objects.get(title="Made from the keyboard")
        assert made.project.key == "WEB"
        assert made.reporter == workspace.member_of(workspace.member)

    # g then l: the list. j, j selects the second row, k back to the first, Enter opens it.
    body.press("g")
    body.press("l")
    expect(page).to_have_url(workspace.url("/projects/WEB/list/"))
    rows = page.locator("tbody[data-list-nav] tr")
    expect(rows).to_have_count(4)
    body.press("j")
    body.press("j")
    expect(rows.nth(1)).to_have_class(SELECTED)
    page.keyboard.press("k")
    expect(rows.nth(0)).to_have_class(SELECTED)
    first_title = rows.nth(0).locator("td.title a").inner_text()
    page.evaluate("document.activeElement.blur()")
    body.press("Enter")
    panel = page.locator("#panel-host [data-panel]")
    expect(panel).to_be_visible()
    expect(panel.get_by_label("Title", exact=True)).to_have_value(first_title)

    # e puts the cursor in the title; a new title saved with Enter is stored.
    page.evaluate("document.activeElement.blur()")
    body.press("e")
    title = panel.get_by_label("Title", exact=True)
    expect(title).to_be_focused()
    title.fill(f"{first_title} (edited)")
    title.press("Enter")
    # The saved page comes back with the new title as its heading.
    expect(page.locator("#panel-host #task-title")).to_have_text(f"{first_title} (edited)")

    def renamed():
        with workspace.schema():
            return Task.objects.filter(title=f"{first_title} (edited)").count() == 1

    eventually(renamed, seconds=5, what="the edited title in the database")

    # Esc closes the side panel.
    page.evaluate("document.activeElement.blur()")
    body.press("Escape")
    expect(page.locator("#panel-host [data-panel]")).to_have_count(0)


def test_a_mention_picked_from_the_type_ahead_notifies_that_person(as_user, workspace):
    workspace.project_seed(titles=("Review the copy",))
    page = as_user(workspace.member)
    page.goto(workspace.url("/tasks/WEB-1/"))
    comment = page.get_by_label("Add a comment")
    comment.click()
    comment.press_sequentially("Could you look, @own")
    suggestions = page.get_by_role("listbox")
    expect(suggestions).to_be_visible()
    expect(suggestions.get_by_role("option")).to_have_count(1)
    expect(suggestions.get_by_role("option").first).to_contain_text(workspace.owner.email)
    comment.press("Enter")  # picks the suggestion (it does not send the comment)
    expect(suggestions).to_be_hidden()
    expect(comment).to_have_value(f"Could you look, @{workspace.owner.email} ")
    comment.press_sequentially("today?")
    page.get_by_role("button", name="Comment", exact=True).click()
    expect(
        page.get_by_role("region", name="Activity").get_by_role("paragraph").filter(has_text="today?")
    ).to_be_visible()
    with workspace.schema():
        assert Comment.objects.get(task__number=1).body == f"Could you look, @{workspace.owner.email} today?"

    def owner_mentioned():
        with workspace.schema():
            return Notification.objects.filter(
                recipient=workspace.member_of(workspace.owner), event__kind=EventKind.MENTIONED
            ).exists()

    eventually(owner_mentioned, seconds=15, what="the mention notification")


def _no_sideways_scroll(page, what: str) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"{what} scrolls sideways at 360 px: {widths}"


def test_a_360_px_phone_scrolls_no_page_sideways_and_reaches_the_navigation(as_user, workspace):
    workspace.project_seed(titles=("A task with a rather long title that has to wrap on a phone screen",))
    page = as_user(workspace.member, viewport=PHONE)
    for path in ("/", "/projects/", "/projects/WEB/", "/projects/WEB/list/", "/tasks/WEB-1/", "/inbox/", "/tasks/new/"):
        page.goto(workspace.url(path))
        _no_sideways_scroll(page, path)

    # The side navigation hides behind Menu; opened, it leads to the inbox.
    page.goto(workspace.url("/projects/WEB/"))
    navigation = page.get_by_role("navigation", name="Main")
    inbox = navigation.get_by_role("link", name="Inbox")
    expect(inbox).not_to_be_in_viewport()
    menu = page.get_by_role("button", name="Menu")
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(inbox).to_be_in_viewport()
    inbox.click()
    expect(page).to_have_url(workspace.url("/inbox/"))
    # New task from the phone's top bar: created, and nothing scrolled sideways.
    page.get_by_role("link", name="New task").click()
    dialog = page.get_by_role("dialog", name="New task")
    expect(dialog).to_be_visible()
    _no_sideways_scroll(page, "the New task dialog")
    dialog.get_by_label("Title").fill("Filed on the phone")
    dialog.get_by_role("button", name="Create task").click()
    expect(dialog).to_be_hidden()
    with workspace.schema():
        assert Task.objects.filter(title="Filed on the phone", project__key="WEB").exists()
