"""Attachment files: per-tenant storage keys, safe names, sniffed types, size limits.

Files go to Django's default storage (the filesystem under MEDIA_ROOT here; S3 through
django-storages is a STORAGES setting away) under `<schema>/attachments/<random>`, so
no two organisations share a path and a name never comes from the uploader."""

import secrets
import unicodedata
from pathlib import PurePosixPath

from django.core.files.storage import storages
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.db import connection, transaction

_MAGIC = [
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
]


def storage():
    return storages["default"]


def storage_key_new() -> str:
    return f"{connection.schema_name}/attachments/{secrets.token_hex(16)}"


def filename_sanitize(name: str) -> str:
    """The last path component only, without control characters, NFC, at most 255
    characters (keeping the extension); "file" if nothing is left."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/")
    name = PurePosixPath(name).name
    name = "".join(char for char in name if unicodedata.category(char)[0] != "C").strip().strip(".")
    if not name:
        return "file"
    if len(name) > 255:
        stem, dot, suffix = name.rpartition(".")
        name = (stem[: 254 - len(suffix)] + dot + suffix) if dot and len(suffix) < 20 else name[:255]
    return name


def content_type_sniff(head: bytes) -> str:
    """The type from the file's first bytes, never from the uploader. Text (HTML and
    SVG included) is plain text: nothing uploaded is ever rendered by the browser."""
    for magic, content_type in _MAGIC:
        if head.startswith(magic):
            return content_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            # A multi-byte character cut at the end of the sample is still text.
            if exc.start < len(head) - 4:
                return "application/octet-stream"
        return "text/plain"
    return "application/octet-stream"


class SizeLimitUploadHandler(FileUploadHandler):
    """Stops reading an upload as soon as it passes `limit` bytes (also without a
    Content-Length header), and marks the request so the view can answer 413."""

    def __init__(self, request, limit: int):
        super().__init__(request)
        self.limit = limit
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            self.request.upload_too_large = True
            # Read (and discard) the rest so the client gets the 413 instead of a reset.
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None


def files_delete_on_commit(keys: list[str]) -> None:
    """Delete stored files once the rows pointing at them are gone for good."""
    if not keys:
        return

    def delete() -> None:
        for key in keys:
            storage().delete(key)

    transaction.on_commit(delete)
