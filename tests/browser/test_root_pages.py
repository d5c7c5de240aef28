"""The root domain in the browser: the landing page, allauth's pages and the organisation
picker, in the product's look, translated, and without serious accessibility faults."""

from playwright.sync_api import expect

from shared_apps.tenants.models import Membership, OrgRole
from shared_apps.tenants.services import organization_create
from tests.browser.conftest import PASSWORD, assert_accessible, screenshot_both_themes, unique_slug


def test_landing_says_what_tessera_is_and_leads_to_signup_and_login(new_context, tessera):
    page = new_context().new_page()
    page.goto(tessera.url("/"))
    expect(page).to_have_title("Tessera — projects and tasks for teams")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Projects and tasks for teams")
    screenshot_both_themes(page, "landing")

    page.get_by_role("main").get_by_role("link", name="Create an organisation").click()
    expect(page).to_have_url(tessera.url("/accounts/signup/"))
    expect(page.get_by_label("Organisation name")).to_be_visible()
    assert_accessible(page, what="sign-up")

    page.go_back()
    page.get_by_role("main").get_by_role("link", name="Log in").click()
    expect(page).to_have_url(tessera.url("/accounts/login/"))
    expect(page.get_by_label("Email")).to_be_visible()
    screenshot_both_themes(page, "login")

    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert_accessible(page, what="password reset")


def test_landing_in_russian(new_context, tessera):
    page = new_context(locale="ru-RU").new_page()
    page.goto(tessera.url("/"))
    expect(page.get_by_role("main").get_by_role("link", name="Создать организацию")).to_be_visible()
    # The switch on the page turns it back to English (a cookie for the next pages).
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("main").get_by_role("link", name="Create an organisation")).to_be_visible()


def test_login_with_a_wrong_password_says_so_and_a_right_one_opens_the_picker(new_context, tessera, workspace):
    second = workspace.organization
    page = new_context().new_page()
    page.goto(tessera.url("/accounts/login/"))
    page.get_by_label("Email").fill(workspace.member.email)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("alert")).to_contain_text("not correct")
    assert_accessible(page, what="login with an error")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    # One organisation: straight into it (its own login on a localhost subdomain).
    expect(page).to_have_url(f"{workspace.url('/accounts/login/')}?next=/")
    assert Membership.objects.filter(user=workspace.member, organization=second, role=OrgRole.MEMBER).exists()


def test_picker_lists_the_users_organisations_with_their_role(new_context, tessera, workspace):
    other = organization_create(slug=unique_slug(), name="Another Team", owner=workspace.member)
    page = new_context(workspace.member).new_page()
    page.goto(tessera.url("/organizations/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your organisations")
    expect(page.get_by_role("link", name="Another Team")).to_contain_text("Owner")
    expect(page.get_by_role("link", name="Browser Test Org")).to_contain_text("Member")
    screenshot_both_themes(page, "organizations", save=False)
    page.get_by_role("link", name="Another Team").click()
    expect(page).to_have_url(tessera.url("/", slug=other.slug) + "accounts/login/?next=/")
