"""Bad input in the browser: refused where it is typed, with the limit named, and
nothing stored."""

from playwright.sync_api import expect

from tenant_apps.tasks.models import Attachment, Task
from tests.browser.conftest import ATTACHMENT_LIMIT


def test_a_megabyte_title_and_an_oversized_file_are_refused_and_nothing_is_stored(as_user, workspace, tmp_path):
    workspace.project_seed(titles=("Short title",))
    page = as_user(workspace.member)
    page.goto(workspace.url("/tasks/WEB-1/"))

    title = page.get_by_role("textbox", name="Title", exact=True)
    title.fill("x" * 1_000_000)
    title.press("Enter")
    expect(page.locator("#title-errors")).to_contain_text("1,000,000")
    with workspace.schema():
        assert Task.objects.get(number=1).title == "Short title"

    # Over the limit: refused in the page before a byte is sent...
    big = tmp_path / "big.bin"
    big.write_bytes(b"\0" * (ATTACHMENT_LIMIT + 1))
    page.get_by_label("Drop files here or choose them").set_input_files(str(big))
    expect(page.get_by_role("status").filter(has_text="big.bin is larger than the limit")).to_be_visible()
    # ...and by the server when sent anyway.
    status = page.evaluate(
        """async (size) => {
            const token = document.cookie.split("; ").find((c) => c.startsWith("csrftoken="))?.split("=")[1];
            const form = new FormData();
            form.append("file", new Blob([new Uint8Array(size)]), "big.bin");
            const headers = {"X-CSRFToken": token, "HX-Request": "true"};  // as the page's upload script
            const response = await fetch("/tasks/WEB-1/upload/", {method: "POST", headers, body: form});
            return response.status;
        }""",
        ATTACHMENT_LIMIT + 100 * 1024,
    )
    assert status == 413
    with workspace.schema():
        assert not Attachment.objects.exists()
