"""The tasks app's migrations plus two bench-only ones (a column and its index), for
bench/migrate_many.py only (`bench/settings_migrate.py` points MIGRATION_MODULES["tasks"]
here). The package's path lists the real migrations folder first, so the loader sees every
real migration under this package's name and the bench ones after the latest of them; the
product's own migration graph never contains them."""

from pathlib import Path

REAL = Path(__file__).resolve().parents[2] / "tenant_apps" / "tasks" / "migrations"
__path__ = [str(REAL), str(Path(__file__).resolve().parent)]


def latest_real() -> str:
    """The highest-numbered real tasks migration (what the bench column depends on)."""
    return max(path.stem for path in REAL.glob("[0-9][0-9][0-9][0-9]_*.py"))
