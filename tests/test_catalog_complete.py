"""Every string the code and the templates hand to translation has its Chinese: the
pseudo-locale test proves strings go through ``_()``, this one that each has a zh entry
(Chinese first: an untranslated string would show English on a Chinese page)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

PACKAGE = Path(__file__).resolve().parents[1] / "callcenter"
ERROR_PREFIX = re.compile(r"^\d{3}: ")
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


def error_details() -> dict[str, str]:
    """The sentence of every plain-text HTTP error raised with a literal text
    (``web.HTTPNotFound(text="404: ...")``) → where: the error page translates it."""
    out: dict[str, str] = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr.startswith("HTTP")):
                continue
            for kw in node.keywords:
                if (kw.arg == "text" and isinstance(kw.value, ast.Constant)
                        and isinstance(kw.value.value, str)
                        and not kw.value.value.startswith("{")):
                    sentence = ERROR_PREFIX.sub("", kw.value.value).strip()
                    out.setdefault(sentence, f"{path.relative_to(PACKAGE)}:{node.lineno}")
    return out


def test_every_error_page_sentence_has_its_chinese() -> None:
    details = error_details()
    assert len(details) > 10  # the walk found the handlers' sentences
    assert {s: where for s, where in details.items() if s not in translated("zh")} == {}


REFUSALS = {"Refusal", "Forbidden", "NotFound", "Conflict", "Invalid"}


def refusal_sentences() -> dict[str, str]:
    """The msgid of every refusal raised with a literal sentence (``NotFound("No review
    %(id)s.", id=...)``) → where: the error pages say it in the user's language."""
    out: dict[str, str] = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in REFUSALS and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)):
                out.setdefault(node.args[0].value, f"{path.relative_to(PACKAGE)}:{node.lineno}")
    return out


def test_every_refusal_has_its_chinese() -> None:
    sentences = refusal_sentences()
    assert len(sentences) > 10  # the walk found the services' refusals
    assert {s: where for s, where in sentences.items() if s not in translated("zh")} == {}
