"""The Russian catalogue is complete and its compiled .mo matches the .po (both are
committed: a fresh machine needs no gettext tools)."""

import gettext
import re
from pathlib import Path

from django.conf import settings

PO = Path(settings.BASE_DIR) / "locale" / "ru" / "LC_MESSAGES" / "django.po"


_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}


def _unquote(lines: list[str]) -> str:
    text = "".join(line[1:-1] for line in lines)
    return re.sub(r"\\(.)", lambda match: _ESCAPES.get(match.group(1), match.group(0)), text)


def _entries() -> list[dict]:
    entries = []
    for block in PO.read_text(encoding="utf-8").split("\n\n"):
        lines = [line for line in block.strip().split("\n") if line and not line.startswith("#~")]
        if not any(line.startswith("msgid ") for line in lines):
            continue
        entry: dict = {"flags": " ".join(line for line in lines if line.startswith("#,"))}
        current = None
        for line in lines:
            match = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d\])?) (".*")$', line)
            if match:
                current = match.group(1)
                entry[current] = [match.group(2)]
            elif line.startswith('"') and current:
                entry[current].append(line)
        entries.append({key: _unquote(value) if isinstance(value, list) else value for key, value in entry.items()})
    return entries


def test_every_message_is_translated_and_none_is_fuzzy():
    entries = [entry for entry in _entries() if entry["msgid"]]
    assert len(entries) > 150
    fuzzy = [entry["msgid"] for entry in entries if "fuzzy" in entry["flags"]]
    assert not fuzzy
    empty = [
        entry["msgid"]
        for entry in entries
        if not any(entry.get(key) for key in ("msgstr", "msgstr[0]"))
        or ("msgstr[1]" in entry and not entry["msgstr[1]"])
    ]
    assert not empty


def test_the_compiled_catalogue_matches_the_source():
    compiled = gettext.GNUTranslations(PO.with_suffix(".mo").open("rb"))
    for entry in _entries():
        msgid = entry["msgid"]
        if not msgid or "msgid_plural" in entry:
            continue
        if "msgctxt" in entry:
            assert compiled.pgettext(entry["msgctxt"], msgid) == entry["msgstr"], msgid
        else:
            assert compiled.gettext(msgid) == entry["msgstr"], msgid


def test_russian_texts_name_a_task_by_its_number_with_the_number_sign():
    # «Задача №WEB-42 была назначена вам»: notifications, their email subjects and digests.
    naming_a_task = [entry for entry in _entries() if re.search(r"\b[Tt]ask %\(key\)s", entry["msgid"])]
    assert len(naming_a_task) >= 6
    without_sign = [entry["msgstr"] for entry in naming_a_task if "№%(key)s" not in entry["msgstr"]]
    assert not without_sign
