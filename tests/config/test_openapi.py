import pytest
import yaml
from django.core.management import call_command

EXPECTED_PATHS = {
    "config.urls_public": {
        "/api/v1/signup/",
        "/api/v1/organizations/",
        "/api/v1/tokens/",
        "/api/v1/tokens/{token_id}/",
    },
    "config.urls_tenant": {
        "/api/v1/organization/",
        "/api/v1/members/",
        "/api/v1/members/{member_id}/",
        "/api/v1/invitations/",
        "/api/v1/invitations/{invitation_id}/",
        "/api/v1/invitations/accept/",
        "/api/v1/roles/",
        "/api/v1/roles/{role_id}/",
        "/api/v1/projects/{key}/members/",
        "/api/v1/projects/{key}/members/{member_id}/",
        "/api/v1/projects/",
        "/api/v1/projects/{key}/",
        "/api/v1/projects/{key}/tasks/",
        "/api/v1/projects/{key}/tasks/{number}/",
        "/api/v1/projects/{key}/tasks/{number}/activity/",
        "/api/v1/tasks/",
        "/api/v1/projects/{key}/tasks/{number}/comments/",
        "/api/v1/projects/{key}/tasks/{number}/comments/{comment_id}/",
        "/api/v1/projects/{key}/labels/",
        "/api/v1/projects/{key}/labels/{label_id}/",
        "/api/v1/projects/{key}/tasks/{number}/attachments/",
        "/api/v1/projects/{key}/tasks/{number}/attachments/{attachment_id}/",
        "/api/v1/projects/{key}/tasks/{number}/move/",
        "/api/v1/usage/",
        "/api/v1/notifications/",
        "/api/v1/notifications/unread-count/",
        "/api/v1/notifications/read-all/",
        "/api/v1/notifications/preferences/",
        "/api/v1/notifications/{notification_id}/read/",
        "/api/v1/notifications/{notification_id}/unread/",
        "/api/v1/projects/{key}/tasks/{number}/watchers/",
        "/api/v1/projects/{key}/tasks/{number}/watch/",
        "/api/v1/webhooks/",
        "/api/v1/webhooks/{webhook_id}/",
        "/api/v1/webhooks/{webhook_id}/deliveries/",
        "/api/v1/reports/",
        "/api/v1/reports/kinds/",
        "/api/v1/reports/schedule/",
        "/api/v1/reports/{report_id}/",
        "/api/v1/reports/{report_id}/download/",
        "/api/v1/billing/",
        "/api/v1/billing/checkout/",
        "/api/v1/billing/portal/",
    },
}


@pytest.mark.parametrize("urlconf", sorted(EXPECTED_PATHS))
def test_openapi_schema_is_valid_without_warnings_and_complete(urlconf, tmp_path):
    target = tmp_path / "schema.yaml"
    # --fail-on-warn: every endpoint's input, output and auth scheme must resolve.
    call_command("spectacular", "--urlconf", urlconf, "--validate", "--fail-on-warn", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    assert EXPECTED_PATHS[urlconf] <= set(schema["paths"])
    assert "apiToken" in schema["components"]["securitySchemes"]
    with_examples = [path for path, operations in schema["paths"].items() if "examples" in yaml.safe_dump(operations)]
    assert len(with_examples) >= 3
