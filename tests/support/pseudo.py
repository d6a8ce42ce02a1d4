"""A test-only pseudo locale, and a check that nothing shown escaped translation.

Every msgid is "translated" to itself between ⟦ and ⟧, its ``%(name)s`` parameters
left outside the marks (a parameter is data: checked like any other text). A page
rendered with it shows every translated string marked; whatever visible text is left
with ASCII letters once the marked parts and the allowed data are removed did not go
through translation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from html.parser import HTMLParser
from typing import Any

import pytest

import callcenter.web.app
import callcenter.web.i18n
from callcenter.web.i18n import Catalogues, Gettext

OPEN, CLOSE = "⟦", "⟧"
_PARAM = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[sdifr]")


def pseudo(msgid: str) -> str:
    """``msgid`` between the marks, its parameters outside them."""
    return OPEN + _PARAM.sub(lambda m: CLOSE + m.group(0) + OPEN, msgid) + CLOSE


class PseudoCatalogues(Catalogues):
    """Catalogues whose every language is the pseudo locale."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._by_lang = {}

    def gettext(self, lang: str) -> Gettext:
        def _(msgid: str, **params: Any) -> str:
            text = pseudo(msgid)
            return text % params if params else text

        return _


def use_pseudo_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make apps created from now on (and exports, the CLI) speak the pseudo locale."""
    monkeypatch.setattr(callcenter.web.app, "Catalogues", PseudoCatalogues)
    monkeypatch.setattr(callcenter.web.i18n, "catalogues", PseudoCatalogues)


ALLOWED = [
    r"[\w-]+\.(?:wav|mp3|gsm)\b",      # recording file names
    r"agent\d+",                       # agent endpoints (agent1001): names, not words
    r"(?:PJSIP|SIP|IAX2|Local)/[\w@.-]+",  # Asterisk interfaces
    r"test_\w+",                       # the test users' names (data)
    r"\bpbx\d+\b", r"\b[cv]\d+\b",     # server names and linkedids of the seeded calls
    r"\b(?:support|sales)\b",          # queue names (configuration, not words)
    r"\d{4}-W\d{2}",                   # ISO weeks (2026-W45)
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}",    # ISO times in examples and placeholders
    r"\bweb\.\w+",                      # setting names (the definitions cite them)
    r"'[^']*'",                        # the user's own input, quoted back in a message
    r"\bEnglish\b",                    # the language button names its language natively
    r"\bCallCenter\b|\bcallcenter\b",  # the product name
    r"\b(?:CSV|XLSX)\b",               # file format names
    r"\bASA\b|\bAHT\b",                # the metric abbreviations supervisors use as is
    r"\bUTC\b|\b[A-Z][a-z]+/[A-Z][a-z_]+\b",  # time zone names (Asia/Shanghai)
]
"""Data and names that may show with ASCII letters in any language (documented here)."""
_ALLOWED = re.compile("|".join(ALLOWED))
CODE = re.compile(r"[a-z_]+")
"""A JSON error code (``forbidden``, ``not_found``): for programs, beside the message."""
_MARKED = re.compile(f"{OPEN}[^{OPEN}{CLOSE}]*{CLOSE}")
ATTRIBUTES = ("title", "placeholder", "aria-label", "alt", "data-confirm", "data-state")


def leftover(text: str, extra: Iterable[str] = ()) -> str:
    """``text`` without its marked (translated) parts and allowed data: what escaped."""
    while True:
        stripped = _MARKED.sub(" ", text)
        if stripped == text:
            break
        text = stripped
    for word in extra:
        text = text.replace(word, " ")
    return _ALLOWED.sub(" ", text)


def untranslated(text: str, extra: Iterable[str] = ()) -> bool:
    """True when ``text`` shows ASCII letters outside the marks and the allowed data."""
    return bool(re.search(r"[A-Za-z]", leftover(text, extra)))


class _Visible(HTMLParser):
    """Text nodes (not in script/style) and the attributes people see."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.shown: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden += 1
        values = dict(attrs)
        self.shown += [v for k, v in attrs if k in ATTRIBUTES and v]
        if tag == "input" and values.get("type") in ("submit", "button") and values.get("value"):
            self.shown.append(str(values["value"]))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._hidden = max(0, self._hidden - 1)

    def handle_data(self, data: str) -> None:
        if not self._hidden and data.strip():
            self.shown.append(data.strip())


def leaks_in_html(html: str, extra: Iterable[str] = ()) -> list[str]:
    """The visible strings of a page that escaped translation."""
    parser = _Visible()
    parser.feed(html)
    return [s for s in parser.shown if untranslated(s, extra)]


def leaks_in_json(body: str, keys: tuple[str, ...] = ("message", "error", "errors")
                  ) -> list[str]:
    """The messages (``message``, ``error``, ``errors``) of a JSON answer that escaped."""
    found: list[str] = []

    def walk(value: Any, shown: bool) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, shown or k in keys)
        elif isinstance(value, list):
            for v in value:
                walk(v, shown)
        elif shown and isinstance(value, str) and not CODE.fullmatch(value) \
                and untranslated(value):
            found.append(value)

    walk(json.loads(body), False)
    return found
