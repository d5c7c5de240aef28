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


def _schema(urlconf: str, tmp_path) -> dict:
    target = tmp_path / f"{urlconf}.yaml"
    call_command("spectacular", "--urlconf", urlconf, "--file", str(target))
    return yaml.safe_load(target.read_text())


def _operations(schema: dict):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield path, method, operation


@pytest.mark.parametrize("urlconf", sorted(EXPECTED_PATHS))
def test_every_operation_documents_its_errors_with_their_bodies(urlconf, tmp_path):
    schema = _schema(urlconf, tmp_path)
    components = schema["components"]["schemas"]
    missing = []
    for path, method, operation in _operations(schema):
        responses = operation["responses"]
        schemes = {name for requirement in operation.get("security", [{}]) for name in requirement}
        expected = {"400"}
        if "apiToken" in schemes:
            expected |= {"401", "429"}
        if schemes:
            expected.add("403")
        if "{" in path:
            expected.add("404")
        if method in {"post", "put", "patch"}:
            expected.add("415")
        if urlconf == "config.urls_tenant" and method != "get" and not path.startswith("/api/v1/billing/"):
            expected.add("402")
        missing += [f"{method.upper()} {path}: {code}" for code in sorted(expected - set(responses))]
        for code, response in responses.items():
            if code >= "400":
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref.rsplit("/", 1)[1] in components, (path, method, code)
    assert not missing


def test_error_bodies_are_documented_components(tmp_path):
    components = _schema("config.urls_tenant", tmp_path)["components"]["schemas"]
    assert {"detail", "code"} <= set(components["ErrorOutput"]["properties"])
    assert components["ValidationErrorOutput"]["additionalProperties"]
    assert {"limit", "usage", "allowance", "upgrade_url"} <= set(components["PaymentRequired"]["properties"])
    assert "version" in components["PreconditionFailedOutput"]["properties"]


def test_declared_errors_keep_their_description_and_get_a_body(tmp_path):
    schema = _schema("config.urls_tenant", tmp_path)
    stale = schema["paths"]["/api/v1/projects/{key}/tasks/{number}/"]["patch"]["responses"]["412"]
    assert stale["description"].startswith("The task changed since you read it")
    assert stale["content"]["application/json"]["schema"]["$ref"].endswith("/PreconditionFailedOutput")
