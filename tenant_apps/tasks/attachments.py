"""Attachment files: safe names, sniffed types, size limits. Where they are stored (per
tenant, `<schema>/attachments/<random>`) is shared_apps/core/storage.py."""

import unicodedata
from pathlib import PurePosixPath

from django.core.files.uploadhandler import FileUploadHandler, StopUpload

from shared_apps.core.storage import files_delete_on_commit as files_delete_on_commit  # re-exported
from shared_apps.core.storage import storage as storage  # re-exported
from shared_apps.core.storage import tenant_file_key

_MAGIC = [
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
]


def storage_key_new() -> str:
    return tenant_file_key("attachments")


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
