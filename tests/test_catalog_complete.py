"""Every string the code and the templates hand to translation has its Chinese: the
pseudo-locale test proves strings go through ``_()``, this one that each has a zh entry
(Chinese first: an untranslated string would show English on a Chinese page)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

PACKAGE = Path(__file__).resolve().parents[1] / "callcenter"
METHODS = [("**/templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]


def translated(lang: str) -> set[str]:
    """The msgids that have a msgstr in ``lang``'s catalogues."""
    out: set[str] = set()
    for po in (PACKAGE / "web" / "locale" / lang / "LC_MESSAGES").glob("*.po"):
        with po.open(encoding="utf-8") as fh:
            for m in read_po(fh, locale=lang):
                if m.id and m.string:
                    out.add(m.id if isinstance(m.id, str) else m.id[0])
    return out


def used() -> dict[str, str]:
    """msgid → where it is first used (``_(...)`` / ``gettext(...)`` in code and templates)."""
    out: dict[str, str] = {}
    for name, line, msg, _comments, _context in extract_from_dir(
            str(PACKAGE), method_map=METHODS, keywords={"_": None, "gettext": None}):
        msgid = msg if isinstance(msg, str) else msg[0]
        if msgid:
            out.setdefault(msgid, f"{name}:{line}")
    return out


def test_every_string_handed_to_translation_has_its_chinese() -> None:
    strings = used()
    assert len(strings) > 300  # the extraction found the product's strings
    missing = {msgid: where for msgid, where in strings.items()
               if msgid not in translated("zh")}
    assert missing == {}
