"""A newcomer's first minutes: sign up on the root domain, confirm the emailed link, log
in to the new organisation."""

from allauth.account.models import EmailAddress
from playwright.sync_api import expect

from shared_apps.accounts.models import User
from shared_apps.tenants.models import Membership, Organization, OrgRole
from tests.browser.conftest import assert_accessible, screenshot_both_themes, unique_slug

PASSWORD = "a-long-new-password-42"


def test_signup_confirm_the_emailed_link_and_log_in_to_the_new_organisation(new_context, tessera, outbox, committed):
    slug = unique_slug("new")
    address = f"founder@{slug}.test"
    page = new_context().new_page()
    page.goto(tessera.url("/accounts/signup/"))
    screenshot_both_themes(page, "signup")

    # A taken address is refused next to the field, and nothing is created.
    page.get_by_label("Email").fill(address)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_label("Organisation name").fill("Founders Inc")
    page.get_by_label("Address").fill("admin")
    page.get_by_role("button", name="Sign Up").click()
    expect(page.locator(".field.invalid")).to_contain_text("Address")
    assert_accessible(page, what="sign-up with an error")
    assert not User.objects.filter(email=address).exists()

    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_label("Address").fill(slug)
    page.get_by_role("button", name="Sign Up").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Verify Your Email Address")
    assert_accessible(page, what="verification sent")
    organization = Organization.objects.get(slug=slug)
    assert organization.name == "Founders Inc"
    assert Membership.objects.get(organization=organization).role == OrgRole.OWNER
    assert not EmailAddress.objects.get(email=address).verified

    message = outbox.wait_for(to=address)
    page.goto(outbox.link(message, "/accounts/confirm-email/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm Email Address")
    assert_accessible(page, what="email confirmation")
    page.get_by_role("button", name="Confirm").click()
    assert EmailAddress.objects.get(email=address).verified

    # Into the organisation's own address; on localhost its cookies are its own, so the
    # person logs in there once.
    expect(page).to_have_url(tessera.url("/accounts/login/?next=/", slug=slug))
    page.get_by_label("Email").fill(address)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page).to_have_url(tessera.url("/", slug=slug))
    expect(page.get_by_text("Founders Inc").first).to_be_visible()
