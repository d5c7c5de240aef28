"""Every page of "running an organisation" (issue 14) in Russian: members, roles, audit
log, project settings, organisation settings, webhooks, billing, reports, account,
notification settings, API tokens, security, the two-factor pages (set-up, the
password check before it, a security key, the login's code prompt) and the invitation
link's page, each opened by a browser that asks for Russian. On each: the page says
`lang="ru"`, its heading is in Russian, no English text from our catalogue or allauth's
is left on it (a msgid that has a Russian translation, shown as is, is an untranslated
string), and axe finds no serious or critical violation."""

import gettext
import re
from functools import cache
from pathlib import Path

import allauth
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from playwright.sync_api import expect

from shared_apps.tenants.memberships import invitation_create
from shared_apps.tenants.models import Membership
from tenant_apps.notifications.services import webhook_create
from tenant_apps.projects.services import role_create
from tests.browser.conftest import PASSWORD, ROOT, assert_accessible

CYRILLIC = re.compile(r"[А-Яа-яЁё]")
CATALOGUES = (
    ROOT / "locale" / "ru" / "LC_MESSAGES" / "django.mo",
    Path(allauth.__file__).parent / "locale" / "ru" / "LC_MESSAGES" / "django.mo",
)
# Words that read the same in both languages or are names, not sentences.
_NOT_SENTENCES = re.compile(r"%|\{|<|\n|^[\w.\-]+$")


@cache
def _english_msgids() -> tuple[str, ...]:
    """Msgids of several words that have a Russian translation of their own: any of them
    on a Russian page is text that was not translated."""
    found = set()
    for path in CATALOGUES:
        with path.open("rb") as file:
            catalog = gettext.GNUTranslations(file)._catalog
        for msgid, msgstr in catalog.items():
            if isinstance(msgid, tuple):  # plural forms: (msgid, index)
                msgid = msgid[0]
            if not isinstance(msgid, str) or "\x04" in msgid or not msgstr or msgstr == msgid:
                continue
            if " " in msgid and len(msgid) >= 8 and not _NOT_SENTENCES.search(msgid):
                found.add(msgid)
    return tuple(sorted(found, key=len, reverse=True))


def _assert_russian(page, what: str, *, names: tuple[str, ...] = ()) -> None:
    """`names`: what the page's heading may be instead of a Russian text (a webhook's
    page is headed by its URL): then the page's title must be in Russian."""
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    heading = page.get_by_role("heading", level=1).first
    expect(heading).to_be_visible()
    title = heading.inner_text()
    if title.split()[0] in names:
        title = page.title()
    assert CYRILLIC.search(title), f"{what}: the heading is not in Russian: {title!r}"
    text = page.locator("body").inner_text()
    english = [msgid for msgid in _english_msgids() if msgid in text]
    assert not english, f"{what}: untranslated on {page.url}: {english[:10]}"
    assert_accessible(page, what=f"{what} (ru)")


def test_every_organisation_page_is_in_russian(new_context, workspace):
    project = workspace.project_seed(titles=("Проверить релиз",))
    with workspace.schema():
        owner_member = workspace.member_of(workspace.owner)
        role = role_create(name="QA", permissions=["project.view", "task.change_status"], actor=owner_member)
        # A literal public address (no DNS); a kind nothing here produces, so no delivery is tried.
        webhook = webhook_create(url="https://93.184.215.14/hooks", kinds=["comment.added"], actor=owner_member)
    _invitation, token = invitation_create(
        organization=workspace.organization,
        email=f"nina@{workspace.slug}.test",
        role="member",
        actor=Membership.objects.get(organization=workspace.organization, user=workspace.owner),
        send_email=False,
    )
    TOTP.activate(workspace.member, generate_totp_secret())

    owner = new_context(workspace.owner, slugs=(workspace.slug,), locale="ru-RU").new_page()
    pages = {
        "members": "/settings/members/",
        "roles": "/settings/roles/",
        "new role": "/settings/roles/new/",
        "role edit": f"/settings/roles/{role.pk}/",
        "role delete": f"/settings/roles/{role.pk}/delete/",
        "audit log": "/settings/audit/",
        "project settings (general, members, labels)": f"/projects/{project.key}/settings/",
        "organisation settings": "/settings/organization/",
        "webhooks": "/settings/webhooks/",
        "webhook": f"/settings/webhooks/{webhook.pk}/",
        "webhook edit": f"/settings/webhooks/{webhook.pk}/edit/",
        "billing": "/billing/",
        "reports": "/reports/",
        "account": "/account/",
        "notification settings": "/account/notifications/",
        "API tokens": "/account/tokens/",
        "security": "/settings/security/",
        "two-factor authentication": "/accounts/2fa/",
    }
    for what, path in pages.items():
        response = owner.goto(workspace.url(path))
        assert response.status == 200, f"{what}: {response.status}"
        _assert_russian(owner, what, names=(webhook.url,))

    # Setting up an app or a key: allauth asks for the password first, then shows the set-up.
    owner.goto(workspace.url("/accounts/2fa/totp/activate/"))
    expect(owner).to_have_url(re.compile(r"/accounts/reauthenticate/"))
    _assert_russian(owner, "password check before two-factor set-up")
    owner.get_by_label("Пароль").fill(PASSWORD)
    owner.get_by_role("button", name="Подтвердить").click()
    expect(owner).to_have_url(workspace.url("/accounts/2fa/totp/activate/"))
    _assert_russian(owner, "authenticator app set-up")
    owner.goto(workspace.url("/accounts/2fa/webauthn/add/"))
    _assert_russian(owner, "add a security key")

    # The login's code prompt, for a member with an authenticator app.
    member = new_context(locale="ru-RU").new_page()
    member.goto(workspace.url("/accounts/login/"))
    _assert_russian(member, "log in")
    member.locator("input[name='login']").fill(workspace.member.email)
    member.locator("input[name='password']").fill(PASSWORD)
    member.locator("input[name='password']").press("Enter")
    expect(member).to_have_url(workspace.url("/accounts/2fa/authenticate/"))
    _assert_russian(member, "two-factor code prompt")

    # The invitation link, logged out (the shell's logged-out look).
    stranger = new_context(locale="ru-RU").new_page()
    stranger.goto(workspace.url(f"/invitations/{token}/"))
    _assert_russian(stranger, "invitation")
    join = stranger.get_by_role("button", name="Создать учётную запись и присоединиться")
    join.click()  # no password: refused inline
    expect(stranger.get_by_role("alert")).to_be_visible()
    _assert_russian(stranger, "invitation with an error")
