"""The AGI protocol as a FastAGI server speaks it, without I/O.

Asterisk opens the connection and sends its environment, ``agi_<name>: <value>`` lines
ending with an empty line (``agi_network_script`` is the path of the
``agi://host:port/<path>`` URL, ``agi_arg_<n>`` the AGI() arguments). The server then
sends commands (``SET VARIABLE NAME "value"``), each answered by one line
``200 result=<n> [(data)]`` (a ``520-`` usage text spans lines up to ``520 End``), or
``HANGUP`` when the channel hung up. :class:`AgiReader` turns bytes into an
:class:`AgiRequest` then :class:`AgiReply` items; anything else raises :class:`AgiError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_LINE = 2048
"""Longest line accepted (Asterisk's own AGI buffer is 2048 bytes)."""
MAX_ENV_LINES = 64
MAX_ARGS = 16
_ENV = re.compile(r"^agi_([a-z_0-9]{1,40}): ?(.*)$")
_REPLY = re.compile(r"^(\d{3})([ -])(.*)$")
_RESULT = re.compile(r"^result=(-?\d+)(?: \((.*)\))?")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


class AgiError(Exception):
    """Input that is not the AGI protocol (the session is closed)."""


@dataclass(frozen=True)
class AgiRequest:
    """What Asterisk asked: the script path, its arguments and the channel's environment."""

    script: str
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str:
        """``agi_<name>`` ('' when absent or 'unknown')."""
        value = self.env.get(name, "")
        return "" if value == "unknown" else value


@dataclass(frozen=True)
class AgiReply:
    """Asterisk's answer to a command: ``code`` 200 with ``result``, or an error code;
    ``hangup`` when the channel hung up instead."""

    code: int
    result: int | None = None
    data: str = ""
    hangup: bool = False


def request_of(env: dict[str, str]) -> AgiRequest:
    """The request an environment describes; :class:`AgiError` without a script."""
    script = env.get("network_script", "")
    if not script and "request" in env:
        script = env["request"].split("://", 1)[-1].partition("/")[2]
    script = script.strip("/").split("?", 1)[0]
    if not script or not re.fullmatch(r"[A-Za-z0-9_.-]{1,40}", script):
        raise AgiError(f"no valid script in the request: {script[:60]!r}")
    args = []
    for n in range(1, MAX_ARGS + 1):
        if f"arg_{n}" not in env:
            break
        args.append(env[f"arg_{n}"])
    return AgiRequest(script, args, env)


class AgiReader:
    """Bytes from Asterisk → the request, then replies (see the module docstring)."""

    def __init__(self) -> None:
        self._buffer = b""
        self._env: dict[str, str] = {}
        self.request: AgiRequest | None = None
        self._usage = False
        self.ready: list[AgiRequest | AgiReply] = []
        """Items parsed and not taken yet (for a reader that takes one at a time)."""

    def feed(self, data: bytes) -> list[AgiRequest | AgiReply]:
        """What ``data`` completes; raises :class:`AgiError` on anything not AGI."""
        self._buffer += data
        out: list[AgiRequest | AgiReply] = []
        while b"\n" in self._buffer:
            raw, self._buffer = self._buffer.split(b"\n", 1)
            item = self._line(_decode(raw))
            if item is not None:
                out.append(item)
        if len(self._buffer) > MAX_LINE:
            raise AgiError(f"line longer than {MAX_LINE} bytes")
        return out

    def _line(self, line: str) -> AgiRequest | AgiReply | None:
        if len(line) > MAX_LINE:
            raise AgiError(f"line longer than {MAX_LINE} bytes")
        if self.request is None:
            return self._env_line(line)
        return self._reply_line(line)

    def _env_line(self, line: str) -> AgiRequest | None:
        if line == "":
            if not self._env:
                return None  # blank lines before the environment
            self.request = request_of(self._env)
            return self.request
        m = _ENV.match(line)
        if m is None:
            raise AgiError(f"not an AGI environment line: {line[:60]!r}")
        if len(self._env) >= MAX_ENV_LINES:
            raise AgiError(f"more than {MAX_ENV_LINES} environment lines")
        self._env[m.group(1)] = m.group(2)
        return None

    def _reply_line(self, line: str) -> AgiReply | None:
        if line.strip().upper() == "HANGUP":
            return AgiReply(511, hangup=True)
        m = _REPLY.match(line)
        if self._usage:  # inside a 520- usage text: up to its "520 End" line
            if m is not None and m.group(1) == "520" and m.group(2) == " ":
                self._usage = False
                return AgiReply(520, data=m.group(3))
            return None
        if m is None:
            raise AgiError(f"not an AGI reply: {line[:60]!r}")
        code = int(m.group(1))
        if m.group(2) == "-":
            self._usage = True
            return None
        result = _RESULT.match(m.group(3))
        if code == 200 and result is None:
            raise AgiError(f"200 reply without result=: {line[:60]!r}")
        return AgiReply(code, int(result.group(1)) if result else None,
                        (result.group(2) or "") if result else m.group(3))


def _decode(raw: bytes) -> str:
    """One line as text (CR stripped); :class:`AgiError` for bytes that are not UTF-8
    or carry control characters."""
    try:
        line = raw.rstrip(b"\r").decode("utf-8")
    except UnicodeDecodeError:
        raise AgiError("a line is not UTF-8") from None
    if any(ord(ch) < 32 and ch != "\t" for ch in line):
        raise AgiError("control characters in a line")
    return line


def set_variable(name: str, value: str) -> bytes:
    """The ``SET VARIABLE`` command (``value`` quoted; quotes and backslashes escaped)."""
    if not _NAME.match(name):
        raise ValueError(f"not a channel variable name: {name!r}")
    if any(ord(ch) < 32 for ch in value):
        raise ValueError("control characters in a variable's value")
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'SET VARIABLE {name} "{escaped}"\n'.encode()
