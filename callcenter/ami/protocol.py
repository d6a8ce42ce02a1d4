"""Sans-I/O AMI protocol: bytes in (any chunking) → frames out; actions → bytes.

A *frame* is a ``dict`` whose keys keep wire order; a key that repeats in one
frame (``ChanVariable``, ``Output``, ...) holds a ``list`` of its values in
order, otherwise a ``str``. This is also the format of the captures' JSON
lines, so a frame parsed from the wire equals the captured one.

Line rule (the same on every path): a line splits at its first ``": "``; a
line without ``": "`` splits at its first ``":"`` (``Key:value``); a line with
no colon at all is kept as an ``Output`` value. Keys may contain ``':'`` only
before the separator, which keeps the Asterisk 11 form
``ChanVariable(IAX2/10.0.0.1:4569-1): NAME=value`` intact.

Speed: the common case (CRLF only, no ``Response: Follows``) parses all the
complete frames of a read in one call, :func:`parse_crlf_frames`: the C
accelerator ``_speedups`` where it was built (setup.py builds it when a C
compiler is at hand; ``CALLCENTER_NO_EXTENSIONS=1`` turns it off), else
:func:`parse_crlf_frames_py`. Anything else (bare LF, ``\\r\\n\\n``,
Follows blocks, banners, over-long frames, bad UTF-8) takes a line-by-line
path that gives the same frames.

Bounds (hostile or broken input): a frame over ``max_frame_bytes``
(:data:`DEFAULT_MAX_FRAME_BYTES`), over ``max_frame_keys`` distinct keys
(:data:`DEFAULT_MAX_FRAME_KEYS`) or over ``max_frame_values`` lines
(:data:`DEFAULT_MAX_FRAME_VALUES`, a repeated key's values counted one each)
is dropped whole and counted; the frames after it parse as usual. The caps
apply to the frames of both parsers, so the C accelerator needs none of its own.

This module does no I/O and imports nothing from the rest of the package but
its own C accelerator.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from itertools import repeat

import structlog

log = structlog.get_logger(__name__)

FieldValue = str | list[str]
Frame = dict[str, FieldValue]

DEFAULT_MAX_FRAME_BYTES = 1 << 20
"""Bytes of one frame (its lines, without the blank line ending it)."""
DEFAULT_MAX_FRAME_KEYS = 512
"""Distinct keys of one frame; real Asterisk 22 frames hold at most about 100
(``ListCommands``: one key per action)."""
DEFAULT_MAX_FRAME_VALUES = 8192
"""Lines of one frame (a repeated key's values each count): a long ``Command``
output (``queue show`` of a large site) fits, 100,000 ``ChanVariable`` lines do not."""
MAX_KEPT_ERRORS = 100
LOG_EVERY = 100
"""Protocol errors are logged for the first one, then for every ``LOG_EVERY``-th."""
_END_COMMAND = "--END COMMAND--"
_BANNER = re.compile(r"[^:\r\n]*/\d[\w.+~-]*")
_MID_BANNER = re.compile(r"[^:\r\n]*Call Manager/\d[\w.+~-]*")
_BLANK = re.compile(rb"\n\r?\n")
_END_LINE = re.compile(rb"(?:^|\n)--END COMMAND--\r?\n")
_CRLF2 = b"\r\n\r\n"
_FOLLOWS = re.compile(rb"[\r\n]*Response: Follows\r?\n")


class ProtocolError(Exception):
    """A frame the protocol could not accept, or an action it cannot encode."""


def _add(frame: Frame, key: str, value: str) -> None:
    old = frame.get(key)
    if old is None:
        frame[key] = value
    elif isinstance(old, list):
        old.append(value)
    else:
        frame[key] = [old, value]


def _add_line(frame: Frame, line: str) -> None:
    key, sep, value = line.partition(": ")
    if not sep:
        key, sep, value = line.partition(":")
        if not sep:
            _add(frame, "Output", line)
            return
    _add(frame, key, value)


def _lines(text: str) -> list[str]:
    return [line.removesuffix("\r") for line in text.split("\n")]


def parse_frame_text(text: str) -> Frame:
    """Parse the text of one frame (its lines, without the blank terminator).

    Blank (or whitespace-only) lines are ignored, except inside a ``Response: Follows`` body
    (Asterisk ≤13 ``Command``), whose lines up to ``--END COMMAND--`` become
    ``Output`` values verbatim once the first line that is not ``Key: value``
    appears.
    """
    lines = _lines(text)
    while lines and not lines[0]:
        del lines[0]
    frame: Frame = {}
    if not lines or lines[0] != "Response: Follows":
        for line in lines:
            if line and not line.isspace():
                _add_line(frame, line)
        return frame
    if lines[-1] == "":
        del lines[-1]
    if lines and lines[-1] == _END_COMMAND:
        del lines[-1]
    in_body = False
    for line in lines:
        key, sep, _ = line.partition(": ")
        if not in_body and sep and key and " " not in key:
            _add_line(frame, line)
        else:
            in_body = True
            _add(frame, "Output", line)
    return frame


def _follows(frame: Frame) -> bool:
    """Whether ``frame`` starts with ``Response: Follows`` (a body up to ``--END COMMAND--``)."""
    key, value = next(iter(frame.items()))
    return key == "Response" and (value[0] if isinstance(value, list) else value) == "Follows"


def log_due(count: int) -> bool:
    """Whether the ``count``-th error of a kind is worth a log line: the first, then
    every :data:`LOG_EVERY`-th (a flood of bad input is counted, not echoed)."""
    return count == 1 or count % LOG_EVERY == 0


def _value_count(frame: Frame) -> int:
    """The lines of ``frame``: a repeated key's values count one each."""
    return sum(len(v) if type(v) is list else 1 for v in frame.values())


_partition = str.partition
_COLON_SPACE = repeat(": ")  # an endless iterator, shared by every map() below


def parse_crlf_frames_py(buf: bytes, end: int) -> list[Frame] | None:
    """The frames of ``buf[:end]`` (CRLF lines, frames apart by a blank line), or None.

    None when the bytes leave the common case (a bare CR or LF, a line without
    ``": "``, a ``Response: Follows`` frame, bytes that are not UTF-8): the
    line path must parse them. ``_speedups.parse_crlf_frames`` is the same in C.
    """
    try:
        text = str(memoryview(buf)[:end], "utf-8")
    except UnicodeDecodeError:
        return None
    lines = text.split("\r\n")  # every line of every frame; "" between frames
    joined = "".join(lines)
    if "\n" in joined or "\r" in joined:
        return None  # a bare LF or CR is hiding in there
    out: list[Frame] = []
    frame: Frame = {}
    for key, sep, value in map(_partition, lines, _COLON_SPACE):
        if sep:
            if key in frame:
                old = frame[key]
                if type(old) is list:
                    old.append(value)
                else:
                    frame[key] = [old, value]  # type: ignore[list-item]
            else:
                frame[key] = value
        elif key:  # a keyless or "Key:value" line: the line path
            return None
        elif frame:  # the blank line ending a frame
            if "Response" in frame and _follows(frame):
                return None  # its body may hold blank lines: the line path knows
            out.append(frame)
            frame = {}
    if frame:
        if "Response" in frame and _follows(frame):
            return None
        out.append(frame)
    return out


def _load_speedups() -> Callable[[bytes, int], list[Frame] | None] | None:
    """The C ``parse_crlf_frames`` if it was built and not turned off, else None."""
    if os.environ.get("CALLCENTER_NO_EXTENSIONS"):
        return None
    try:
        from callcenter.ami._speedups import parse_crlf_frames
    except ImportError:
        return None
    return parse_crlf_frames


parse_crlf_frames_c = _load_speedups()
parse_crlf_frames = parse_crlf_frames_c or parse_crlf_frames_py
"""The parser of the common case: the C one when built (``SPEEDUPS``), else Python."""
SPEEDUPS = parse_crlf_frames_c is not None


class AMIProtocol:
    """Incremental parser. Call :meth:`feed` with received bytes; it returns frames.

    Handles the greeting banner (:attr:`banner`; :meth:`reset` for a new
    connection; a banner met between frames is recognised too), CRLF and bare
    LF line ends, frames ended by ``\\r\\n\\n``, ``Response: Follows`` blocks,
    and bytes that are not UTF-8 (replaced). :meth:`feed` never raises: a
    frame over a bound (bytes, keys, values: see the module doc) or with bad
    bytes is recorded as a :class:`ProtocolError` in :attr:`errors` (the
    latest ones; all counted in :attr:`error_count`) and passed to
    ``on_error`` (without one it is logged, the first and every
    :data:`LOG_EVERY`-th); a frame over a bound is dropped whole (counted in
    :attr:`dropped_frames`) and parsing resumes after its blank line.
    """

    _parse_crlf_frames = staticmethod(parse_crlf_frames)

    def __init__(
        self,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
        on_error: Callable[[ProtocolError], None] | None = None,
        *,
        max_frame_keys: int = DEFAULT_MAX_FRAME_KEYS,
        max_frame_values: int = DEFAULT_MAX_FRAME_VALUES,
    ) -> None:
        self.max_frame_bytes = max_frame_bytes
        self.max_frame_keys = max_frame_keys
        self.max_frame_values = max_frame_values
        self.on_error = on_error
        self.errors: list[ProtocolError] = []  # the latest MAX_KEPT_ERRORS
        self.error_count = 0
        self.dropped_frames = 0  # over a bound: bytes, keys or values
        self.banner: str | None = None
        self._buf = b""
        self._at_start = True
        self._skipping = False

    def reset(self) -> None:
        """Forget buffered bytes and the banner: a new connection starts."""
        self.banner = None
        self._buf = b""
        self._at_start = True
        self._skipping = False

    def feed(self, data: bytes) -> list[Frame]:
        """Consume ``data`` and return the frames it completes, in order."""
        buf = self._buf + data if self._buf else bytes(data)
        frames: list[Frame] = []
        if self._at_start and not self._skipping:
            nl = buf.find(b"\n")
            if nl < 0:
                self._buf = buf
                self._check_incomplete()
                return frames
            self._at_start = False
            first = buf[:nl].decode("utf-8", "replace").removesuffix("\r")
            if nl <= self.max_frame_bytes and _BANNER.fullmatch(first):
                self.banner = first
                buf = buf[nl + 1 :]
        many_lines = buf.count(b"\n") > self.max_frame_values  # else no frame can have too many
        end = -1 if self._skipping else buf.rfind(_CRLF2)
        if end >= 0 and self._fast(buf, end, frames):
            buf = buf[end + 4 :]
        self._buf = self._slow(buf, frames)
        self._check_incomplete()
        return self._bounded(frames, many_lines)

    def _bounded(self, frames: list[Frame], many_lines: bool) -> list[Frame]:
        """``frames`` without those over ``max_frame_keys`` keys or ``max_frame_values``
        values (each dropped and counted)."""
        keys, values = self.max_frame_keys, self.max_frame_values
        if not many_lines and max(map(len, frames), default=0) <= keys:
            return frames
        kept: list[Frame] = []
        for frame in frames:
            if len(frame) > keys:
                self._drop(f"frame of {len(frame)} keys (over {keys}) dropped")
            elif many_lines and (n := _value_count(frame)) > values:
                self._drop(f"frame of {n} lines (over {values}) dropped")
            else:
                kept.append(frame)
        return kept

    def _drop(self, message: str) -> None:
        self.dropped_frames += 1
        self._error(message)

    def _fast(self, buf: bytes, end: int, frames: list[Frame]) -> bool:
        """Parse the CRLF frames in ``buf[:end]``; False (nothing added) if :meth:`_slow` must."""
        if end + 2 > self.max_frame_bytes and not self._fits(buf[:end]):
            return False
        parsed = self._parse_crlf_frames(buf, end)
        if parsed is None:
            return False
        frames.extend(parsed)
        return True

    def _fits(self, region: bytes) -> bool:
        return max(map(len, region.split(_CRLF2))) + 2 <= self.max_frame_bytes

    def _error(self, message: str) -> None:
        err = ProtocolError(message)
        self.error_count += 1
        self.errors.append(err)
        del self.errors[:-MAX_KEPT_ERRORS]
        if self.on_error is not None:
            self.on_error(err)
        elif log_due(self.error_count):
            log.warning("ami_protocol_error", error=message, errors=self.error_count)

    def _check_incomplete(self) -> None:
        """Drop the frame still arriving once it is over a bound: bytes, or lines (so a
        frame of 100,000 keys is never parsed), and skip to the next blank line."""
        if not self._skipping:
            # +1: the buffer may hold the first byte of the terminator, not part of the frame
            if len(self._buf) > self.max_frame_bytes + 1:
                self._skip(f"frame over {self.max_frame_bytes} bytes dropped")
            elif self._buf.count(b"\n") > self.max_frame_values:
                self._skip(f"frame over {self.max_frame_values} lines dropped")
        if self._skipping:
            self._buf = self._buf[-2:]

    def _skip(self, why: str) -> None:
        self._drop(f"{why}; resync at blank line")
        self._skipping = True
        self._at_start = False

    def _slow(self, buf: bytes, frames: list[Frame]) -> bytes:
        """Frame by frame, line-aware; returns the unconsumed bytes."""
        pos = 0
        while True:
            m = _BLANK.search(buf, pos)
            if m is None:
                return buf[pos:]
            if self._skipping:
                self._skipping = False
                pos = m.end()
                continue
            stop, nxt = m.start() + 1, m.end()
            if _FOLLOWS.match(buf, pos, stop + 1):
                end = _END_LINE.search(buf, pos)
                if end is None:
                    return buf[pos:]
                stop = nxt = end.end()
                after = buf[nxt : nxt + 2]
                if after in (b"", b"\r"):
                    return buf[pos:]  # is a blank line coming? wait and see
                nxt += 1 if after[:1] == b"\n" else 2 if after == b"\r\n" else 0
            raw = buf[pos:stop]
            pos = nxt
            if len(raw) > self.max_frame_bytes:
                self._drop(f"frame over {self.max_frame_bytes} bytes dropped")
                continue
            frame = self._decode_frame(raw)
            if frame:
                frames.append(frame)

    def _decode_frame(self, raw: bytes) -> Frame:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            text = raw.decode("utf-8", "replace")
            self._error(f"bytes that are not UTF-8 replaced ({exc.reason} at byte {exc.start})")
        return self._general(text)

    def _general(self, text: str) -> Frame:
        """:func:`parse_frame_text`, taking a new session's banner line ahead of a frame."""
        first, _, rest = text.lstrip("\r\n").partition("\n")
        first = first.removesuffix("\r")
        if _MID_BANNER.fullmatch(first):
            self.banner = first
            text = rest
        return parse_frame_text(text)


def _check(text: str, what: str) -> str:
    if "\r" in text or "\n" in text:
        raise ProtocolError(f"{what} contains a line break: {text!r}")
    return text


def serialize_action(action: Mapping[str, FieldValue] | Iterable[tuple[str, FieldValue]]) -> bytes:
    """Encode an action (or any frame) as AMI bytes: CRLF lines and a blank line.

    List values are written as one line per value (``Variable`` repeated). A
    ``Response: Follows`` frame is written the Asterisk ≤13 way (its
    ``Output`` lines raw, then ``--END COMMAND--``). Raises
    :class:`ProtocolError` for an empty key, a key containing ``": "`` or a
    line break in a key or value (header injection).
    """
    items = list(action.items() if isinstance(action, Mapping) else action)
    if items and items[0] == ("Response", "Follows"):
        return _serialize_follows(items)
    lines: list[str] = []
    for key, value in items:
        if isinstance(value, list):
            lines.extend([f"{key}: {v}\r\n" for v in value])
        else:
            lines.append(f"{key}: {value}\r\n")
    text = "".join(lines)
    keys = [key for key, _ in items]
    n = len(lines)  # line breaks of ours: one more is a key's or a value's own
    if text.count("\n") != n or text.count("\r") != n or "" in keys or ": " in "\n".join(keys):
        _check_items(items)
    return (text + "\r\n").encode("utf-8")


def _check_items(items: list[tuple[str, FieldValue]]) -> None:
    """Raise :class:`ProtocolError` for the first bad key or value."""
    for key, value in items:
        if not key or ": " in key:
            raise ProtocolError(f"invalid AMI key {key!r}")
        _check(key, "key")
        for v in value if isinstance(value, list) else [value]:
            _check(v, "value")


def _serialize_follows(items: list[tuple[str, FieldValue]]) -> bytes:
    _check_items(items)
    out: list[str] = []
    body: list[str] = []
    for key, value in items:
        values = value if isinstance(value, list) else [value]
        if key == "Output":
            body.extend(values)
        else:
            out.extend(f"{key}: {v}" for v in values)
    return "\r\n".join([*out, *body, _END_COMMAND, "\r\n"]).encode("utf-8")


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
