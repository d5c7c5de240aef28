"""Journeys through the settings and reports pages, against the real server and worker:
a report requested, its progress bar moving, the file downloaded and parsed; a webhook
created, its secret shown once, a task change delivered to a local receiver and visible
in the delivery log; project settings: a member added with a role, a label created, the
page in Russian."""

import csv
import hashlib
import hmac
import io
import re
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from django.utils import timezone
from playwright.sync_api import expect

from shared_apps.tenants.services import membership_add
from tenant_apps.notifications.models import Webhook, WebhookDelivery
from tenant_apps.projects.models import ProjectMember
from tenant_apps.reports.models import Report
from tenant_apps.tasks.models import Label, Task
from tenant_apps.tasks.services import task_create
from tests.browser.conftest import assert_accessible, eventually, screenshot_both_themes, user_create

REPORT_ROWS = 30  # at the server's 0.3 s a row: about nine seconds of progress, seen on a busy machine


def test_a_report_is_requested_its_progress_moves_and_the_csv_downloads(as_user, workspace):
    project = workspace.project_seed()
    with workspace.schema():
        owner = workspace.member_of(workspace.owner)
        for index in range(REPORT_ROWS):
            task = task_create(project=project, actor=owner, title=f"Done {index}")
            Task.objects.filter(pk=task.pk).update(status="done", completed_at=timezone.now())
    today = timezone.now().date()

    page = as_user(workspace.owner)
    page.goto(workspace.url("/projects/"))
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", name="Request a report")).to_be_visible()
    assert_accessible(page, what="reports page")
    page.get_by_label("Kind", exact=True).select_option(label="Completed tasks")
    page.get_by_label("From", exact=True).fill((today - timedelta(days=1)).isoformat())
    page.get_by_label("To (exclusive)").fill((today + timedelta(days=1)).isoformat())
    page.get_by_label("Project", exact=True).select_option("WEB")
    page.get_by_label("Format", exact=True).first.select_option("csv")
    page.get_by_role("button", name="Request the report").click()

    # The row polls its progress while the worker writes the rows.
    bar = page.get_by_role("progressbar")
    expect(bar).to_be_visible()
    seen: set[int] = set()
    download = page.get_by_role("link", name=re.compile(r"^Download "))
    deadline = time.monotonic() + 30
    while not download.count() and time.monotonic() < deadline:
        # Read without waiting: the row is swapped every second and the bar leaves when done.
        seen.update(int(value) for value in bar.evaluate_all("bars => bars.map((bar) => bar.value)"))
        time.sleep(0.1)
    assert any(0 < value < 100 for value in seen), seen
    expect(download).to_be_visible()
    screenshot_both_themes(page, "reports")

    with page.expect_download() as downloading:
        download.click()
    content = Path(downloading.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(content)))
    keys = sorted(row[0] for row in rows[1:] if row and row[0].startswith("WEB-"))
    assert len(keys) == REPORT_ROWS
    with workspace.schema():
        report = Report.objects.get()
        assert (report.status, report.row_count, report.format) == ("done", REPORT_ROWS, "csv")


class _Receiver:
    """A local webhook endpoint recording what it receives."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/tessera"


def test_a_webhook_shows_its_secret_once_and_logs_a_delivery(as_user, workspace):
    project = workspace.project_seed()
    receiver = _Receiver()
    try:
        page = as_user(workspace.owner)
        page.goto(workspace.url("/"))
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
        expect(page.get_by_role("heading", name="Organisation settings", level=1)).to_be_visible()
        page.get_by_role("link", name="Webhooks").click()
        page.get_by_label("Payload URL").fill(receiver.url)
        page.get_by_label("Assigned to you").check()
        page.get_by_role("button", name="Create webhook").click()

        secret_box = page.get_by_role("textbox", name="Secret")
        expect(secret_box).to_be_visible()
        shown = secret_box.input_value()
        with workspace.schema():
            webhook = Webhook.objects.get()
            assert (webhook.secret, webhook.kinds, webhook.url) == (shown, ["task.assigned"], receiver.url)
        assert_accessible(page, what="webhook page with its secret")
        page.reload()
        expect(page.get_by_role("textbox", name="Secret")).to_have_count(0)
        assert shown not in page.content()

        # A task change (someone assigns a task) is delivered and shows in the log.
        with workspace.schema():
            task_create(
                project=project,
                actor=workspace.member_of(workspace.owner),
                title="Hooked",
                assignees=[workspace.member_of(workspace.member)],
            )
        log = page.get_by_role("table", name="Deliveries, newest first")
        expect(log.get_by_role("row").filter(has_text="Assigned to you").filter(has_text="HTTP 204")).to_be_visible(
            timeout=30_000
        )
        screenshot_both_themes(page, "webhook")
        headers, body = eventually(lambda: receiver.requests and receiver.requests[0], seconds=5, what="a delivery")
        expected = hmac.new(shown.encode(), f"{headers['X-Tessera-Timestamp']}.".encode() + body, hashlib.sha256)
        assert headers["X-Tessera-Signature"] == f"sha256={expected.hexdigest()}"
        with workspace.schema():
            delivery = WebhookDelivery.objects.get()
            assert (delivery.status, delivery.attempts, delivery.response_status) == ("sent", 1, 204)
    finally:
        receiver.server.shutdown()


def test_project_settings_add_a_member_create_a_label_and_read_it_in_russian(as_user, workspace):
    workspace.project_seed()
    newcomer = user_create(f"pavel@{workspace.slug}.test", "Pavel Newcomer")
    membership_add(organization=workspace.organization, user=newcomer, role="member")

    page = as_user(workspace.owner)
    page.goto(workspace.url("/projects/WEB/"))
    page.get_by_role("main").get_by_role("link", name="Settings", exact=True).click()
    expect(page.get_by_role("heading", name="Settings of “Website”")).to_be_visible()
    assert_accessible(page, what="project settings")

    page.get_by_label("Person").select_option(label=f"Pavel Newcomer (pavel@{workspace.slug}.test)")
    page.get_by_label("Role", exact=True).select_option(label="Reporter")
    page.get_by_role("button", name="Add to the project").click()
    expect(page.get_by_text("Pavel Newcomer added as Reporter.")).to_be_visible()
    with workspace.schema():
        added = ProjectMember.objects.get(project__key="WEB", member__user_id=newcomer.pk)
        assert added.role.name == "Reporter"
    expect(page.get_by_label("Role of Pavel Newcomer")).to_have_value(str(added.role_id))

    page.get_by_label("Label name").fill("bug")
    page.get_by_label("Label colour").fill("#d1242f")
    page.get_by_role("button", name="Create label").click()
    expect(
        page.get_by_role("table", name="The project's labels").get_by_role("row", name=re.compile("bug"))
    ).to_be_visible()
    with workspace.schema():
        assert list(Label.objects.values_list("name", "color")) == [("bug", "#d1242f")]
    screenshot_both_themes(page, "project-settings")

    page.get_by_label("Your account").click()
    page.get_by_role("button", name="Русский").click()
    expect(page.get_by_role("heading", name="Настройки проекта «Website»")).to_be_visible()
    expect(page.get_by_role("button", name="Создать метку")).to_be_visible()
    assert_accessible(page, what="project settings in Russian")
