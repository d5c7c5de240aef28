"""The harness itself: the real server answers in the browser, and a logged-in context
reaches the organisation."""

from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD


def test_login_form_on_the_organisation_domain_opens_the_organisation(new_context, workspace):
    page = new_context().new_page()
    page.goto(workspace.url("/"))
    # Not logged in: the organisation sends people to its login page.
    expect(page).to_have_url(workspace.url("/accounts/login/?next=/"))
    page.get_by_label("Email").fill(workspace.member.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page).to_have_url(workspace.url("/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("My work")
    expect(page.get_by_role("banner")).to_contain_text(workspace.organization.name)


def test_injected_session_is_logged_in(as_user, workspace):
    page = as_user(workspace.owner)
    page.goto(workspace.url("/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("My work")
    expect(page.get_by_role("link", name="Inbox, 0 unread")).to_be_visible()
