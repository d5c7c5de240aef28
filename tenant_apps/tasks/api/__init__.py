"""The task API, one module per resource (tasks, comments, labels, attachments, usage).
URL names and operation ids are those of tenant_apps/tasks/urls.py."""
