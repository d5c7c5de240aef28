"""Report files: CSV (UTF-8 with BOM), XLSX (with a summary sheet) and JSON, each written
row by row to a local file, so memory stays flat whatever the number of rows.

- CSV holds the rows only (one table per file); the summary is in the XLSX summary
  sheet, the JSON file and the API. Text cells that a spreadsheet would run as a
  formula (starting with = + - @, tab or carriage return) get a leading apostrophe
  (OWASP's CSV-injection advice).
- XLSX is written by xlsxwriter in `constant_memory` mode: each row is flushed to disk
  as soon as the next starts. A sheet holds at most 1,048,576 rows; longer reports
  continue on "Rows (2)", "Rows (3)", ... Text is always written as text, never as a
  formula. Times are the organisation's local times (Excel has no time zones).
- JSON is `{"report": {...}, "columns": [...], "rows": [{...}, ...], "summary": {...}}`
  with ISO 8601 times carrying the organisation's offset.
"""

import csv
import io
import json
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any, BinaryIO

import xlsxwriter

from tenant_apps.reports.kinds import Column, ReportData, Summary

# Called with (rows written so far) at most once a second.
Progress = Callable[[int], None]
PROGRESS_INTERVAL_SECONDS = 1.0
XLSX_MAX_ROWS = 1_048_576
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_clock = time.monotonic


def _throttled(rows: Iterator[tuple], on_progress: Progress) -> Iterator[tuple]:
    """Pass rows through, reporting the count at most once per interval."""
    last = _clock()
    for count, row in enumerate(rows, start=1):
        yield row
        now = _clock()
        if now - last >= PROGRESS_INTERVAL_SECONDS:
            on_progress(count)
            last = now


def csv_safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return csv_safe(value)


def write_csv(out: BinaryIO, data: ReportData, meta: dict[str, Any], on_progress: Progress) -> int:
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=False)
    writer = csv.writer(text)
    writer.writerow([column.label for column in data.columns])
    count = 0
    for row in _throttled(data.rows, on_progress):
        writer.writerow([_csv_cell(value) for value in row])
        count += 1
    text.flush()
    text.detach()
    return count


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_json(out: BinaryIO, data: ReportData, meta: dict[str, Any], on_progress: Progress) -> int:
    def emit(text: str) -> None:
        out.write(text.encode("utf-8"))

    keys = [column.key for column in data.columns]
    emit('{"report": ' + json.dumps(meta, ensure_ascii=False, default=_json_default))
    emit(', "columns": ' + json.dumps([{"key": c.key, "label": c.label, "type": c.type} for c in data.columns]))
    emit(', "rows": [')
    count = 0
    for row in _throttled(data.rows, on_progress):
        emit(
            ("," if count else "")
            + "\n"
            + json.dumps(dict(zip(keys, row, strict=True)), ensure_ascii=False, default=_json_default)
        )
        count += 1
    emit('\n], "summary": ' + json.dumps(data.summary.as_json(), ensure_ascii=False, default=_json_default) + "}\n")
    return count


class _XlsxCells:
    def __init__(self, workbook: xlsxwriter.Workbook) -> None:
        self.bold = workbook.add_format({"bold": True})
        self.datetime = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        self.date = workbook.add_format({"num_format": "yyyy-mm-dd"})

    def write(self, sheet, row: int, col: int, value: Any, kind: str) -> None:
        if value is None:
            sheet.write_blank(row, col, None)
        elif isinstance(value, datetime):
            # Excel has no time zones: the organisation's local time, as shown elsewhere.
            sheet.write_datetime(row, col, value.replace(tzinfo=None), self.datetime)
        elif isinstance(value, date):
            sheet.write_datetime(row, col, datetime(value.year, value.month, value.day), self.date)  # noqa: DTZ001
        elif isinstance(value, bool):
            sheet.write_boolean(row, col, value)
        elif isinstance(value, int | float):
            sheet.write_number(row, col, value)
        else:
            sheet.write_string(row, col, str(value))


def _xlsx_header(sheet, columns: list[Column], cells: _XlsxCells) -> None:
    for index, column in enumerate(columns):
        sheet.write_string(0, index, column.label, cells.bold)
        width = 40 if column.key == "title" else 20 if column.type in ("datetime", "text") else 12
        sheet.set_column(index, index, width)
    sheet.freeze_panes(1, 0)


def _xlsx_summary(workbook, summary: Summary, meta: dict[str, Any], cells: _XlsxCells) -> None:
    sheet = workbook.add_worksheet("Summary")
    sheet.set_column(0, 0, 36)
    sheet.set_column(1, 10, 18)
    row = 0
    sheet.write_string(row, 0, meta["title"], cells.bold)
    row += 1
    for key, value in meta.get("parameters", {}).items():
        sheet.write_string(row, 0, key)
        cells.write(sheet, row, 1, value, "text")
        row += 1
    row += 1
    for _key, label, value in summary.figures:
        sheet.write_string(row, 0, str(label))
        cells.write(sheet, row, 1, value, "")
        row += 1
    for table in summary.tables:
        row += 1
        sheet.write_string(row, 0, str(table.title), cells.bold)
        row += 1
        for index, column in enumerate(table.columns):
            sheet.write_string(row, index, column.label, cells.bold)
        row += 1
        for values in table.rows:
            for index, value in enumerate(values):
                cells.write(sheet, row, index, value, table.columns[index].type)
            row += 1


def write_xlsx(out: BinaryIO, data: ReportData, meta: dict[str, Any], on_progress: Progress) -> int:
    # constant_memory: rows go to a temporary file as soon as the next row starts.
    workbook = xlsxwriter.Workbook(out, {"constant_memory": True, "in_memory": False})
    cells = _XlsxCells(workbook)
    # The summary sheet comes first (what a reader opens), and is complete before any
    # row streams, so constant_memory's one-way writing never needs to go back.
    _xlsx_summary(workbook, data.summary, meta, cells)
    sheet, sheets, row_index = None, 0, XLSX_MAX_ROWS
    count = 0
    for row in _throttled(data.rows, on_progress):
        if row_index >= XLSX_MAX_ROWS:
            sheets += 1
            sheet = workbook.add_worksheet("Rows" if sheets == 1 else f"Rows ({sheets})")
            _xlsx_header(sheet, data.columns, cells)
            row_index = 1
        for index, value in enumerate(row):
            cells.write(sheet, row_index, index, value, data.columns[index].type)
        row_index += 1
        count += 1
    if sheet is None:
        _xlsx_header(workbook.add_worksheet("Rows"), data.columns, cells)
    workbook.close()
    return count


WRITERS: dict[str, Callable[[BinaryIO, ReportData, dict[str, Any], Progress], int]] = {
    "csv": write_csv,
    "xlsx": write_xlsx,
    "json": write_json,
}
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}
