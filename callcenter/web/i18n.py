"""Translations: one gettext catalogue per language, compiled from the .po files at start.

``locale/<lang>/LC_MESSAGES/messages.po`` is the catalogue; further ``*.po``
files beside it (one per feature, if a feature prefers its own file) are
merged behind it. msgids are English.
"""

from __future__ import annotations

import functools
import gettext
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from callcenter.store.users import LANGUAGES

LOCALE_DIR = Path(__file__).parent / "locale"
LANG_COOKIE = "cc_lang"
LANGUAGE_NAMES = {"zh": "中文", "en": "English"}
"""Each language by its own name (as the language buttons show it)."""

Gettext = Callable[..., str]


def _compile(po: Path, lang: str) -> gettext.GNUTranslations:
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


class Catalogues:
    """The compiled translations of every language of the UI."""

    def __init__(self, root: Path = LOCALE_DIR) -> None:
        self._by_lang: dict[str, gettext.NullTranslations] = {}
        for lang in LANGUAGES:
            files = sorted((root / lang / "LC_MESSAGES").glob("*.po"),
                           key=lambda p: (p.name != "messages.po", p.name))
            chain: gettext.NullTranslations = gettext.NullTranslations()
            for i, po in enumerate(files):
                compiled = _compile(po, lang)
                if i == 0:
                    chain = compiled
                else:
                    chain.add_fallback(compiled)
            self._by_lang[lang] = chain

    def translations(self, lang: str) -> gettext.NullTranslations:
        """The translations of ``lang`` (no-op translations for an unknown language)."""
        return self._by_lang.get(lang) or gettext.NullTranslations()

    def gettext(self, lang: str) -> Gettext:
        """``_(msgid, **params)`` for ``lang``: the translation, %-formatted with ``params``."""
        tr = self.translations(lang)

        def _(msgid: str, **params: Any) -> str:
            text = tr.gettext(msgid)
            return text % params if params else text

        return _


def browser_language(accept_language: str, default: str) -> str:
    """The first supported language of an ``Accept-Language`` header (by q), else ``default``."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        primary = tag.strip().split("-")[0].lower()
        if primary in LANGUAGES and q > 0:
            ranked.append((-q, i, primary))
    return min(ranked)[2] if ranked else default


def request_language(request: web.Request, user_language: str | None, default: str) -> str:
    """The user's choice, else the language cookie, else the browser's, else ``default``."""
    if user_language in LANGUAGES:
        return str(user_language)
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in LANGUAGES:
        return str(cookie)
    return browser_language(request.headers.get("Accept-Language", ""), default)


class Problem(ValueError):
    """An error whose message people read: a msgid and its parameters.

    ``str()`` is the English text (logs, the CLI); ``text(_)`` the message in
    ``_``'s language, its ``field*`` parameters (the names of the inputs at fault)
    and tuple parameters (the words one may choose from) translated too.
    """

    def __init__(self, msgid: str, **params: Any) -> None:
        english = {k: ", ".join(v) if isinstance(v, tuple) else v for k, v in params.items()}
        super().__init__(msgid % english if params else msgid)
        self.msgid, self.params = msgid, params

    def text(self, _: Gettext) -> str:
        """The message in ``_``'s language."""
        return _(self.msgid, **{k: self._word(k, v, _) for k, v in self.params.items()})

    @staticmethod
    def _word(key: str, value: Any, _: Gettext) -> Any:
        if isinstance(value, tuple):
            return _(", ").join(_(str(v)) for v in value)
        return _(value) if key.startswith("field") else value


@functools.lru_cache(maxsize=1)
def catalogues() -> Catalogues:
    """The catalogues of the installed locale directory, compiled once (CLI, exports)."""
    return Catalogues()


def gettext_for(lang: str) -> Gettext:
    """``_`` of the installed catalogues in ``lang``."""
    return catalogues().gettext(lang)
