"""Reading an uploaded CSV file: which encoding it is in, which delimiter it uses, and its
rows, streamed (the file is never held in memory whole).

Accepted: UTF-8 with or without a byte-order mark, and Windows-1251 (what Excel saves
"CSV" as on a Russian Windows) when its non-ASCII bytes are Cyrillic letters. UTF-16
(Excel's "Unicode text"), binary files and anything else are declined with a reason."""

import codecs
import csv
import io
import re
from collections.abc import Iterable, Iterator

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# Bytes of the file read per step.
CHUNK = 64 * 1024
DELIMITERS = (",", ";", "\t")
# A cell may be long (descriptions), but not unbounded.
FIELD_LIMIT = 1024 * 1024
csv.field_size_limit(FIELD_LIMIT)

# Windows-1251's Cyrillic letters: А..я (0xC0..0xFF), Ё (0xA8), ё (0xB8), and the  # noqa: RUF003
# punctuation Russian text carries: « » (0xAB, 0xBB), — – (0x97, 0x96), № (0xB9), … (0x85).  # noqa: RUF003
_CP1251_TEXT = bytes(sorted(set(range(0xC0, 0x100)) | {0xA8, 0xB8, 0xAB, 0xBB, 0x96, 0x97, 0xB9, 0x85, 0xA0}))
_HIGH = bytes(range(0x80, 0x100))
_HIGH_RUN = re.compile(rb"[\x80-\xff]{2,}")


def encoding_detect(chunks: Iterable[bytes]) -> str:
    """ "utf-8-sig", "utf-8" or "cp1251" for the file whose bytes `chunks` yields, or
    ValidationError({"file": reason})."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    first = True
    utf8 = True
    high = cyrillic = 0
    offset = 0
    bom = False
    undefined = False
    in_runs = 0
    for chunk in chunks:
        if first:
            first = False
            if chunk.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                raise ValidationError({"file": _("The file is UTF-16 (Unicode text): save it as “CSV UTF-8”.")})
            bom = chunk.startswith(codecs.BOM_UTF8)
        if b"\x00" in chunk:
            raise ValidationError({"file": _("This is not a text file (it holds NUL bytes): upload a CSV file.")})
        if utf8:
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                utf8 = False
                where = offset + exc.start
                if bom:
                    raise ValidationError(
                        {"file": _("The file is not valid UTF-8 (byte %(offset)d).") % {"offset": where}}
                    ) from exc
        # Counted with translate (C speed), not byte by byte.
        high += len(chunk) - len(chunk.translate(None, _HIGH))
        cyrillic += len(chunk) - len(chunk.translate(None, _CP1251_TEXT))
        in_runs += sum(len(run) for run in _HIGH_RUN.findall(chunk))
        undefined = undefined or b"\x98" in chunk  # the one byte Windows-1251 leaves undefined
        offset += len(chunk)
    if offset == 0:
        raise ValidationError({"file": _("The file is empty.")})
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    if utf8:
        return "utf-8-sig" if bom else "utf-8"
    # Most non-ASCII bytes of Russian text in Windows-1251 are letters, next to other
    # letters (words); another encoding's are not letters (Shift-JIS, a zip file) or are
    # lone accents between ASCII letters (Latin-1 "Café").
    if high and cyrillic / high >= 0.9 and in_runs / high >= 0.6 and not undefined:
        return "cp1251"
    raise ValidationError(
        {"file": _("The file is neither UTF-8 nor Windows-1251 text: save it as “CSV UTF-8” and upload it again.")}
    )


def delimiter_detect(first_line: str) -> str:
    """The delimiter used most often outside quotes in the header line (comma if none)."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for char in first_line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def text_stream(binary, encoding: str) -> io.TextIOWrapper:
    """A text view of an open binary file (a storage file or an upload)."""
    raw = getattr(binary, "file", binary)
    return io.TextIOWrapper(raw, encoding=encoding, newline="")


def rows_read(binary, *, encoding: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of every record after the header; the header is line 1. A
    malformed record raises ValidationError naming its line. Blank lines are skipped."""
    stream = text_stream(binary, encoding)
    reader = csv.reader(stream, delimiter=delimiter, strict=False)
    try:
        next(reader, None)
        for cells in reader:
            if not cells or all(not cell.strip() for cell in cells):
                continue
            yield reader.line_num, cells
    except csv.Error as exc:
        raise ValidationError(
            {"file": _("Line %(line)d is not valid CSV (%(reason)s).") % {"line": reader.line_num, "reason": exc}}
        ) from exc
    finally:
        # Hand the file back to its owner: a collected wrapper would close it.
        stream.detach()


def header_read(binary, *, encoding: str) -> tuple[str, list[str]]:
    """(delimiter, header cells) of the file's first line."""
    stream = text_stream(binary, encoding)
    first = stream.readline()
    stream.detach()
    delimiter = delimiter_detect(first)
    try:
        header = next(csv.reader([first], delimiter=delimiter), [])
    except csv.Error:
        header = []
    header = [cell.strip() for cell in header]
    if not header or all(not cell for cell in header):
        raise ValidationError({"file": _("The first line must name the columns (a header).")})
    return delimiter, header
