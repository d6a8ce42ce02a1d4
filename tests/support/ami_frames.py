"""Parsing helpers for AMI parser tests: feed bytes whole or cut at given offsets."""

from __future__ import annotations

from typing import Any

from callcenter.ami.protocol import AMIProtocol, Frame


def feed_chunks(proto: AMIProtocol, data: bytes, cuts: list[int]) -> list[Frame]:
    """The frames ``proto`` gives for ``data`` fed in pieces cut at ``cuts``."""
    frames: list[Frame] = []
    prev = 0
    for cut in sorted({c for c in cuts if 0 < c < len(data)}) + [len(data)]:
        frames += proto.feed(data[prev:cut])
        prev = cut
    return frames


def parse_all(data: bytes, **kw: Any) -> tuple[AMIProtocol, list[Frame]]:
    """A new protocol (built with ``kw``) and the frames it gives for ``data`` in one piece."""
    proto = AMIProtocol(**kw)
    return proto, proto.feed(data)


def event_names(frames: list[Frame]) -> list[str]:
    """The ``Event`` names of ``frames``, in order (responses left out)."""
    return [str(f["Event"]) for f in frames if "Event" in f]
