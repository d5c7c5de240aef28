"""Writes to reports: request, generate, finish, fail, delete, sweep, schedules. Call inside the
organisation's schema (Celery tasks run there through their `_schema_name` header).

Life of a report: `report_request` validates and stores it as `queued` and enqueues
generation after the commit. A worker's `report_generate` claims it (`running`),
streams the rows into a temporary file with progress at most once a second, moves the
file into tenant storage and calls `report_finish` (`done`), or `report_fail` with a
readable reason. `reports_sweep` (beat, every minute, every organisation) re-sends
queued reports whose message may have been lost, re-queues running ones whose worker
stopped sending heartbeats (up to TESSERA_REPORT_MAX_ATTEMPTS starts, then `failed`),
and deletes expired reports with their files. While a report runs, a heartbeat thread
keeps it alive; `reports_requeue_stale` (every 10 s, organisations with a running report)
re-sends those whose worker died within a minute.

Modules: `requests` (request, delete), `generation` (the worker's run: claim, liveness,
finish, fail), `sweep` (the minute sweep and the frequent stale check), `schedules`
(weekly reports: set, delete, run, mail)."""
