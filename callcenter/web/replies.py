"""Asterisk's answers to our actions, told to people in our own words.

Asterisk replies in English (``Interface unpaused successfully``, ``Added
interface to queue``, ``Originate successfully queued``, ``Unable to add
interface: Already there``...). Users see a sentence of ours in their language,
chosen from the action and the reply; an unknown reply gets a generic one. The
raw reply goes only to the audit log and the logs.
"""

from __future__ import annotations

from callcenter.commands import CommandResult
from callcenter.web.i18n import Gettext

DONE = {
    "join": "You are now taking calls from queue %(queue)s.",
    "leave": "You no longer take calls from queue %(queue)s.",
    "pause": "You are paused (busy): %(reason)s.",
    "unpause": "You are no longer paused: calls can reach you.",
    "call": "Calling: your phone rings first, then the customer.",
}
KNOWN = {
    "already there": "You were already in queue %(queue)s: nothing was changed.",
    "not there": "You were not in queue %(queue)s: nothing was changed.",
    "interface not found": "Asterisk does not know your phone in any queue: "
                           "nothing was changed.",
    "no such queue": "Asterisk has no queue %(queue)s: nothing was changed.",
}
"""A piece of Asterisk's failure reply (lower case) → our sentence."""
TOO_LATE = "The phone or the call was already gone: nothing was changed."
FAILED = "Asterisk did not carry out the action: nothing was changed."


def reply_msgid(action: str, result: CommandResult) -> str:
    """The msgid telling what ``result`` means for ``action`` (join | leave | pause |
    unpause | call)."""
    if result.ok:
        return DONE.get(action, "Done.")
    said = result.message.lower()
    for piece, msgid in KNOWN.items():
        if piece in said:
            return msgid
    return TOO_LATE if result.status == "too_late" else FAILED


def reply_text(action: str, result: CommandResult, _: Gettext, queue: str = "",
               reason: str = "") -> str:
    """Our sentence for ``result`` in ``_``'s language (``reason`` already translated)."""
    return _(reply_msgid(action, result), queue=queue, reason=reason)
