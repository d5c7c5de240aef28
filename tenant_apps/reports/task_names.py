"""The registered names of the reports app's worker tasks (tasks.py declares them under
these names). The report services enqueue by name through config.celery's one helper,
because tasks.py imports the services it wraps (docs/architecture.md, "Imports")."""

REPORT_GENERATE = "reports.generate"
REPORT_EMAIL = "reports.email"
