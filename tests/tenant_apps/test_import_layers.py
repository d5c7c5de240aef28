"""Import circles stay broken (issue 12): in the notifications and reports apps every
import of the project's own modules is at module top. A function-level import of a
sibling module is how a circle hides (a service importing the tasks.py that imports
it); the way out is to enqueue by the task's registered name (config.celery) or to move
the shared piece to a lower module (docs/architecture.md, "Imports")."""

import ast
from pathlib import Path

import pytest
from django.conf import settings

APPS = ("tenant_apps/notifications", "tenant_apps/reports")
OWN = ("tenant_apps", "shared_apps", "config")


def _nested_own_imports(path: Path) -> list[str]:
    """`file:line module` of each import of an OWN module inside a function or class."""
    found = []
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for scope in ast.walk(tree):
        if not isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        for node in ast.walk(scope):
            if isinstance(node, ast.ImportFrom):
                modules = [node.module or ""] if node.level == 0 else ["(relative)"]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            for module in modules:
                if module == "(relative)" or module.split(".")[0] in OWN:
                    found.append(f"{path.relative_to(settings.BASE_DIR)}:{node.lineno} {module}")
    return sorted(set(found))


def _sources() -> list[Path]:
    base = Path(settings.BASE_DIR)
    return sorted(
        path for app in APPS for path in (base / app).rglob("*.py") if "migrations" not in path.relative_to(base).parts
    )


def test_notifications_and_reports_import_their_siblings_only_at_module_top():
    sources = _sources()
    assert len(sources) > 10  # the walk sees the apps
    assert [hit for path in sources for hit in _nested_own_imports(path)] == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def f():\n    from tenant_apps.reports.tasks import x\n", 1),
        ("class C:\n    def m(self):\n        import shared_apps.core.storage\n", 1),
        ("def f():\n    from . import tasks\n", 1),
        ("def f():\n    from django.db import connection\n", 0),  # third-party: not a circle of ours
        ("from tenant_apps.reports.tasks import x\n", 0),  # at the top
    ],
)
def test_the_walk_finds_what_it_must(tmp_path, source, expected):
    path = Path(settings.BASE_DIR) / "tenant_apps" / "reports" / "_walk_probe.py"
    path.write_text(source, encoding="utf-8")
    try:
        assert len(_nested_own_imports(path)) == expected
    finally:
        path.unlink()
