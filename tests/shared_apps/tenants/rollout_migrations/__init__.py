"""The tasks app's migrations plus two test-only ones, for tests/shared_apps/tenants/
test_rollout.py (which points MIGRATION_MODULES["tasks"] here): the real folder first,
then this one."""

from pathlib import Path

REAL = Path(__file__).resolve().parents[4] / "tenant_apps" / "tasks" / "migrations"
__path__ = [str(REAL), str(Path(__file__).resolve().parent)]


def latest_real() -> str:
    return max(path.stem for path in REAL.glob("[0-9][0-9][0-9][0-9]_*.py"))
