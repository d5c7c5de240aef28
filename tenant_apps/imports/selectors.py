"""Reads of the CSV import: the preview of its first rows."""

from dataclasses import dataclass, field
from itertools import islice

from django.core.exceptions import ValidationError

from shared_apps.core.storage import storage
from tenant_apps.imports.models import TaskImport
from tenant_apps.imports.reading import rows_read
from tenant_apps.imports.services import RowError, mapping_problems
from tenant_apps.imports.targets import RowReader, targets_for

PREVIEW_ROWS = 10


@dataclass
class PreviewRow:
    row: int
    cells: list[str]
    # column index -> messages; "" for the row as a whole
    errors: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Preview:
    problems: list[RowError]
    rows: list[PreviewRow]

    def errors(self) -> list[RowError]:
        found = list(self.problems)
        for row in self.rows:
            for column, messages in row.errors.items():
                found += [RowError(row.row, column, message) for message in messages]
        return found


def import_preview(task_import: TaskImport, *, limit: int = PREVIEW_ROWS) -> Preview:
    """The first `limit` rows as they would be read with the current mapping, each with
    its errors by column; and what the mapping itself still lacks."""
    problems = mapping_problems(task_import)
    if not task_import.storage_key:
        return Preview(problems, [])
    mapping = {index: key for index, key in task_import.mapping.items() if key}
    reader = RowReader(
        project=task_import.project,
        headers=task_import.headers,
        mapping=mapping,
        targets=targets_for(task_import.project),
    )
    rows = []
    try:
        with storage().open(task_import.storage_key, "rb") as binary:
            for line, cells in islice(
                rows_read(binary, encoding=task_import.encoding, delimiter=task_import.delimiter), limit
            ):
                result = reader.read(cells)
                row = PreviewRow(
                    line, cells[: len(task_import.headers)] + [""] * (len(task_import.headers) - len(cells))
                )
                for column, message in result.errors:
                    row.errors.setdefault(column, []).append(message)
                rows.append(row)
    except ValidationError as exc:
        problems.append(RowError(0, "", " ".join(exc.messages)))
    return Preview(problems, rows)
