"""Sans-I/O AMI protocol: bytes in (any chunking) → frames out; actions → bytes.

A *frame* is a ``dict`` whose keys keep wire order; a key that repeats in one
frame (``ChanVariable``, ``Output``, ...) holds a ``list`` of its values in
order, otherwise a ``str``. This is also the format of the captures' JSON
lines, so a frame parsed from the wire equals the captured one.

This module does no I/O and imports nothing from the rest of the package.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Union

FieldValue = Union[str, list[str]]
Frame = dict[str, FieldValue]

DEFAULT_MAX_FRAME_BYTES = 1 << 20
_END_COMMAND = "--END COMMAND--"


class ProtocolError(Exception):
    """A frame the protocol could not accept (e.g. over the size limit)."""


def _add(frame: Frame, key: str, value: str) -> None:
    old = frame.get(key)
    if old is None:
        frame[key] = value
    elif isinstance(old, list):
        old.append(value)
    else:
        frame[key] = [old, value]


def parse_frame_text(text: str) -> Frame:
    """Parse the text of one frame (lines without the blank terminator)."""
    frame: Frame = {}
    follows = False
    for line in text.split("\n"):
        if line.endswith("\r"):
            line = line[:-1]
        if not line:
            continue
        if follows and ":" not in line or line == _END_COMMAND:
            if line != _END_COMMAND:
                _add(frame, "Output", line)
            continue
        key, sep, value = line.partition(":")
        if not sep:
            _add(frame, "Output", line)
            continue
        if value.startswith(" "):
            value = value[1:]
        _add(frame, key, value)
        if key == "Response" and value == "Follows":
            follows = True
    return frame


class AMIProtocol:
    """Incremental parser. Call :meth:`feed` with received bytes; it returns frames.

    Handles the greeting banner, CRLF and bare LF line ends, frames ended by
    ``\\r\\n\\n``, ``Response: Follows`` blocks, and non-UTF-8 bytes (replaced).
    An over-long frame raises nothing: it is dropped, counted in
    :attr:`errors`, and parsing resumes at the next blank line.
    """

    def __init__(self, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> None:
        self.banner: str | None = None
        self.max_frame_bytes = max_frame_bytes
        self.errors: list[str] = []
        self._buf = bytearray()
        self._skipping = False

    def feed(self, data: bytes) -> list[Frame]:
        """Consume ``data`` and return the frames it completes, in order."""
        self._buf += data
        frames: list[Frame] = []
        if self.banner is None:
            nl = self._buf.find(b"\n")
            if nl < 0:
                return frames
            self.banner = self._buf[:nl].decode("utf-8", "replace").rstrip("\r")
            del self._buf[: nl + 1]
        buf = self._buf
        start = 0
        while True:
            end, sep_len = self._find_blank(buf, start)
            if end < 0:
                break
            raw = bytes(buf[start:end])
            start = end + sep_len
            if self._skipping:
                self._skipping = False
                continue
            if len(raw) > self.max_frame_bytes:
                self.errors.append(f"frame over {self.max_frame_bytes} bytes dropped")
                continue
            if not raw.strip():
                continue
            text = raw.decode("utf-8", "replace")
            if "\ufffd" in text and b"\xef\xbf\xbd" not in raw:
                self.errors.append("frame with bytes that are not UTF-8 (replaced)")
            frames.append(parse_frame_text(text))
        del buf[:start]
        if len(buf) > self.max_frame_bytes and not self._skipping:
            self.errors.append(f"frame over {self.max_frame_bytes} bytes dropped")
            self._skipping = True
        if self._skipping and len(buf) > self.max_frame_bytes:
            keep = buf[-3:]
            buf.clear()
            buf += keep
        return frames

    @staticmethod
    def _find_blank(buf: bytearray, start: int) -> tuple[int, int]:
        """Index of the end of the next frame and the length of its terminator."""
        pos = buf.find(b"\n", start)
        while pos >= 0:
            nxt = pos + 1
            if buf[nxt : nxt + 1] == b"\n":
                return pos, 2
            if buf[nxt : nxt + 2] == b"\r\n":
                return pos, 3
            pos = buf.find(b"\n", nxt)
        return -1, 0


def serialize_action(action: Mapping[str, FieldValue] | Iterable[tuple[str, str]]) -> bytes:
    """Encode an action (or any frame) as AMI bytes, CRLF lines and a blank line.

    List values are written as one line per value (``Variable`` repeated).
    """
    items = action.items() if isinstance(action, Mapping) else action
    out: list[str] = []
    for key, value in items:
        if isinstance(value, list):
            out.extend(f"{key}: {v}" for v in value)
        else:
            out.append(f"{key}: {value}")
    out.append("\r\n")
    return "\r\n".join(out).encode("utf-8")


serialize_frame = serialize_action


def chan_variables(frame: Mapping[str, FieldValue], key: str = "ChanVariable") -> dict[str, str]:
    """The channel variables of ``frame`` as name → value.

    Accepts the Asterisk 12+ form (``ChanVariable: NAME=value``) and the
    Asterisk 11 form (``ChanVariable(PJSIP/x-1): NAME=value``).
    """
    out: dict[str, str] = {}
    for k, v in frame.items():
        if k != key and not (k.startswith(key + "(") and k.endswith(")")):
            continue
        for item in v if isinstance(v, list) else [v]:
            name, _, value = item.partition("=")
            out[name] = value
    return out
