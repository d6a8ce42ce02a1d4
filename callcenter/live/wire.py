"""The live sync's messages: the facts a live state is built from, as compact JSON
that fits a PostgreSQL notification (pure: no I/O).

A message is ``{"i": instance, "n": seq, "f": [[type, fields], ...]}`` (facts, in
order) or ``{"i": instance, "n": seq, "hello": 1}`` (a listener asking the owners
for their present state). ``n`` numbers the sender's messages (PostgreSQL would fold
identical notifications of one transaction into one). Fields are
:func:`callcenter.store.codec.to_dict` in its compact form. A message longer than
:data:`LIMIT` bytes is split between facts; a single fact longer than that is sent
zlib-compressed, base64 (``"z"`` + text), and dropped (counted) when even that is
too long.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from callcenter.calls.alerts import RecordingAlert, SupervisorAlert
from callcenter.calls.model import (
    AgentStateChanged,
    CallAnswered,
    CallEnded,
    CallStarted,
    Fact,
    QueueCallerJoined,
    QueueCallerLeft,
    RingEnded,
    RingStarted,
)
from callcenter.store.codec import from_dict, to_dict

CHANNEL = "callcenter_live"
LIMIT = 7900
"""Bytes of one notification's payload (PostgreSQL's limit is 8000)."""
FACT_TYPES: dict[str, type[Fact]] = {cls.__name__: cls for cls in (
    CallStarted, CallAnswered, CallEnded, RingStarted, RingEnded, QueueCallerJoined,
    QueueCallerLeft, AgentStateChanged, SupervisorAlert, RecordingAlert)}
"""The facts a live state is built from, by their name on the wire. Service alerts stay
with the instance they concern."""


@dataclass
class Message:
    """One decoded notification."""

    instance: str
    seq: int
    facts: list[Fact] = field(default_factory=list)
    hello: bool = False


def synced(fact: Fact) -> bool:
    """True for a fact other instances' live states need (of a PBX, of a type they fold)."""
    return bool(fact.server) and type(fact).__name__ in FACT_TYPES


def _piece(fact: Fact) -> str:
    return json.dumps([type(fact).__name__, to_dict(fact, compact=True)],
                      separators=(",", ":"), ensure_ascii=False)


def _text(instance: str, seq: int, pieces: Sequence[str]) -> str:
    head = json.dumps({"i": instance, "n": seq}, separators=(",", ":"), ensure_ascii=False)
    return f'{head[:-1]},"f":[{",".join(pieces)}]}}'


def _size(text: str) -> int:
    return len(text.encode())


def pack(instance: str, facts: Sequence[Fact], seq: Iterator[int],
         limit: int = LIMIT) -> tuple[list[str], int]:
    """``facts`` as messages of at most ``limit`` bytes, in order; and how many facts
    were dropped (too long even compressed)."""
    messages: list[str] = []
    dropped = 0
    pieces: list[str] = []
    base = _size(_text(instance, 0, [])) + 20  # room for any seq
    size = base
    for fact in facts:
        piece = _piece(fact)
        n = _size(piece) + 1
        if pieces and size + n > limit:
            messages.append(_text(instance, next(seq), pieces))
            pieces, size = [], base
        if base + n <= limit:
            pieces.append(piece)
            size += n
            continue
        text = "z" + base64.b64encode(zlib.compress(
            _text(instance, next(seq), [piece]).encode())).decode()
        if len(text) <= limit:
            messages.append(text)
        else:
            dropped += 1
    if pieces:
        messages.append(_text(instance, next(seq), pieces))
    return messages, dropped


def hello(instance: str, seq: int) -> str:
    """The message asking the owners of PBXs to publish their present state."""
    return json.dumps({"i": instance, "n": seq, "hello": 1}, separators=(",", ":"))


def unpack(text: str) -> Message:
    """The message ``text`` carries (ValueError/KeyError/TypeError when malformed)."""
    if text.startswith("z"):
        text = zlib.decompress(base64.b64decode(text[1:])).decode()
    data: dict[str, Any] = json.loads(text)
    facts = [from_dict(FACT_TYPES[name], fields) for name, fields in data.get("f", ())]
    return Message(str(data["i"]), int(data["n"]), facts, bool(data.get("hello")))
