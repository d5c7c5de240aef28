"""Tenant file storage, for every app that stores files (attachments, reports).

Files go to Django's default storage (the filesystem under MEDIA_ROOT here; S3 through
django-storages is a STORAGES setting away) under `<schema>/<kind>/<random>`, so no two
organisations share a path and a name never comes from the uploader. Files are never
served as public media: download views check permission and send them as attachments
(DESIGN.md section 7)."""

import secrets

from django.core.files.storage import storages
from django.db import connection, transaction


def storage():
    return storages["default"]


def tenant_file_key(kind: str) -> str:
    """A new random key for a file of `kind` ("attachments", "reports") in the current
    organisation's prefix."""
    return f"{connection.schema_name}/{kind}/{secrets.token_hex(16)}"


def files_delete_on_commit(keys: list[str]) -> None:
    """Delete stored files once the rows pointing at them are gone for good."""
    if not keys:
        return

    def delete() -> None:
        for key in keys:
            storage().delete(key)

    transaction.on_commit(delete)
