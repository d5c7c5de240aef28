"""Several people at once: an assignment reaches the assignee's bell and inbox, comments
mention, files go up and come back down; changes show in another open browser within
5 seconds; two edits of one task never overwrite each other silently."""

from playwright.sync_api import expect

from tenant_apps.notifications.models import EventKind, Notification
from tenant_apps.tasks.models import Attachment, Comment, Task
from tests.browser.conftest import eventually

LIVE_SECONDS = 5


def test_assignee_sees_the_bell_opens_the_task_comments_with_a_mention_uploads_and_downloads(
    as_user, workspace, tmp_path
):
    workspace.project_seed(titles=("Fix the login page",))
    owner = as_user(workspace.owner)
    owner.goto(workspace.url("/tasks/WEB-1/"))
    owner.get_by_label("Mikhail Member").check()
    owner.get_by_role("button", name="Save changes").click()

    def assignment_notified():
        with workspace.schema():
            return Notification.objects.filter(
                recipient=workspace.member_of(workspace.member), event__kind=EventKind.ASSIGNED
            ).first()

    # The outbox event, processed by the real Celery worker, becomes the notification.
    eventually(assignment_notified, seconds=15, what="the assignment notification")

    member = as_user(workspace.member)
    member.goto(workspace.url("/"))
    member.get_by_role("link", name="Inbox, 1 unread").click()
    member.get_by_role("button", name="Unread: Task WEB-1 was assigned to you").click()
    expect(member).to_have_url(workspace.url("/tasks/WEB-1/"))
    expect(member.get_by_role("link", name="Inbox, 0 unread")).to_be_visible()
    with workspace.schema():
        assert assignment_notified().read_at is not None

    # A comment that mentions the owner by their address.
    member.get_by_label("Add a comment").fill(f"Done on my side, @{workspace.owner.email} please check.")
    member.get_by_role("button", name="Comment", exact=True).click()
    expect(
        member.get_by_role("region", name="Activity").get_by_role("paragraph").filter(has_text="please check")
    ).to_be_visible()
    with workspace.schema():
        comment = Comment.objects.get(task__number=1)
        assert comment.author == workspace.member_of(workspace.member)
    eventually(
        lambda: _notified(workspace, workspace.owner, EventKind.MENTIONED), seconds=15, what="the mention notification"
    )

    # Upload a file through the page, then download it again.
    upload = tmp_path / "notes.txt"
    upload.write_text("Login fixed: see commit 42.\n")
    member.get_by_label("Drop files here or choose them").set_input_files(str(upload))
    link = member.get_by_role("link", name="notes.txt")
    expect(link).to_be_visible()
    with workspace.schema():
        assert Attachment.objects.get(task__number=1).filename == "notes.txt"
    with member.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename == "notes.txt"
    assert open(download.path(), encoding="utf-8").read() == "Login fixed: see commit 42.\n"  # noqa: SIM115 (read once)


def _notified(workspace, user, kind) -> bool:
    with workspace.schema():
        return Notification.objects.filter(recipient=workspace.member_of(user), event__kind=kind).exists()


def test_a_change_in_one_browser_appears_in_another_within_5_seconds(as_user, workspace):
    workspace.project_seed(titles=("Write the release notes",))
    owner = as_user(workspace.owner)
    member = as_user(workspace.member)
    owner.goto(workspace.url("/projects/WEB/"))
    member.goto(workspace.url("/projects/WEB/"))

    # A status change through the card's menu (the keyboard way to move a card).
    owner.get_by_role("listitem").filter(has_text="Write the release notes").get_by_label("Move WEB-1").click()
    owner.get_by_role("button", name="In progress").click()
    expect(member.get_by_role("list", name="In progress").get_by_text("Write the release notes")).to_be_visible(
        timeout=LIVE_SECONDS * 1000
    )

    # A new task.
    owner.goto(workspace.url("/tasks/new/?project=WEB"))
    owner.get_by_role("textbox", name="Title", exact=True).fill("Announce the release")
    owner.get_by_role("button", name="Create task").click()
    expect(member.get_by_role("list", name="To do").get_by_text("Announce the release")).to_be_visible(
        timeout=LIVE_SECONDS * 1000
    )

    # A comment on a task page the other has open.
    member.goto(workspace.url("/tasks/WEB-1/"))
    owner.goto(workspace.url("/tasks/WEB-1/"))
    owner.get_by_label("Add a comment").fill("Draft is in the shared folder.")
    owner.get_by_role("button", name="Comment", exact=True).click()
    expect(member.get_by_text("Draft is in the shared folder.")).to_be_visible(timeout=LIVE_SECONDS * 1000)


def test_conflicting_edits_show_the_conflict_and_lose_nothing(as_user, workspace):
    workspace.project_seed(titles=("Old title",))
    owner = as_user(workspace.owner)
    member = as_user(workspace.member)
    owner.goto(workspace.url("/tasks/WEB-1/"))
    member.goto(workspace.url("/tasks/WEB-1/"))

    owner.get_by_role("textbox", name="Title", exact=True).fill("Owner's title")
    owner.get_by_role("textbox", name="Title", exact=True).press("Enter")
    eventually(lambda: _title(workspace) == "Owner's title", what="the owner's title saved")

    # The member edits what they loaded before the owner's change.
    member.get_by_role("textbox", name="Title", exact=True).fill("Member's title")
    member.get_by_role("textbox", name="Title", exact=True).press("Enter")
    conflict = member.get_by_role("alert")
    expect(conflict).to_contain_text("Changed by Olga Owner since you opened it.")
    assert _title(workspace) == "Owner's title"

    # Nothing lost: overwriting sends the member's title, kept by the conflict form.
    conflict.get_by_role("button", name="Overwrite with mine").click()
    eventually(lambda: _title(workspace) == "Member's title", what="the member's title saved")


def _title(workspace) -> str:
    with workspace.schema():
        return Task.objects.get(number=1).title
