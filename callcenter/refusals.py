"""Refusals a user is told about: an English msgid with its parameters, translated when
shown (the web's error pages and JSON errors say them in the user's language)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Refusal(Exception):
    """A request the rules refuse; ``status`` is the matching HTTP status. ``str()`` is the
    English sentence (logs, tests); :meth:`said` the sentence in a language."""

    status = 400

    def __init__(self, msgid: str, **params: Any) -> None:
        super().__init__(msgid % params if params else msgid)
        self.msgid, self.params = msgid, params

    def said(self, gettext: Callable[..., str]) -> str:
        """The sentence through ``gettext``; string parameters are translated too (a role,
        an action), other values shown as they are."""
        if not self.params:
            return gettext(self.msgid)
        words = {k: gettext(v) if isinstance(v, str) and v else v
                 for k, v in self.params.items()}
        return gettext(self.msgid, **words)


class Forbidden(Refusal):
    """The user's role (or relation to the object) does not allow this."""

    status = 403


class NotFound(Refusal):
    """No such object, or none the user may know of."""

    status = 404


class Conflict(Refusal):
    """The request does not fit the object's state (now, or since the page was read)."""

    status = 409
