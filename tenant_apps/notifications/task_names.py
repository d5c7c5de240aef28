"""The registered names of the notifications app's worker tasks (tasks.py declares them
under these names). Services enqueue by name through config.celery's one helper
(`enqueue_on_commit` / `send_in_schema`), because tasks.py imports the services it wraps:
importing tasks.py back from a service would be an import circle (docs/architecture.md,
"Imports")."""

EVENT_PROCESS = "notifications.event_process"
EMAIL_SEND = "notifications.email_send"
EMAILS_SEND = "notifications.emails_send"
WEBHOOK_DELIVER = "notifications.webhook_deliver"
