"""Reading AMI fields: event time, channel names, endpoints, trunks.

Pure helpers for the tracker. A channel name is ``<tech>/<endpoint>-<seq>``
(``PJSIP/agent1001-0000000a``) or a Local channel
(``Local/1003@internal-00000000;2``); an interface is ``<tech>/<endpoint>``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

log = structlog.get_logger(__name__)

UNKNOWN = frozenset({"", "<unknown>", "unknown", "anonymous"})
_SEQ = re.compile(r"-[0-9a-f]{8}(;\d)?$")
_APP_PATHS = re.compile(r"\b[rt]\(([^)]+)\)")
_LOCAL = re.compile(r"^Local/(?P<exten>[^@]+)@(?P<context>.+)-[0-9a-f]{8};1$")
INBOUND_CONTEXTS = ("from-trunk", "from-pstn", "from-external")

Fields = Mapping[str, Any]
"""An AMI frame as the tracker reads it (an event, a response, or an action we sent): its
fields, read only. The parser's own type is ``callcenter.ami.protocol.Frame``."""


def text(frame: Fields, key: str) -> str:
    """``frame[key]`` as one string ('' when absent; the last value of a repeated key)."""
    value = frame.get(key)
    if isinstance(value, list):
        value = value[-1] if value else ""
    return value if isinstance(value, str) else ""


def known(value: str) -> str | None:
    """``value`` unless it is empty or Asterisk's ``<unknown>``."""
    return None if value.strip() in UNKNOWN else value


EARLIEST_TIMESTAMP = 946684800.0
"""2000-01-01T00:00:00Z: an earlier ``Timestamp`` (``0``, a counter) is no clock's reading."""
TIMESTAMP_AHEAD_S = 86400.0
"""How far past the arrival time a ``Timestamp`` may be (clock skew, a replayed capture)."""
_TIMESTAMP = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,9})?")  # ASCII digits: not \d


def read_timestamp(frame: Mapping[str, Any], received_at: float) -> tuple[float, bool]:
    """(event seconds, refused): the frame's ``Timestamp`` (Unix seconds) when it is
    plain ASCII digits with an optional fraction, no earlier than 2000-01-01 and no
    later than ``received_at`` + :data:`TIMESTAMP_AHEAD_S`; else ``received_at``, with
    ``refused`` True when a ``Timestamp`` was there (absent is normal: responses,
    ``timestampevents = no``)."""
    ts = frame.get("Timestamp")
    if ts is None:
        return received_at, False
    if isinstance(ts, str) and _TIMESTAMP.fullmatch(ts):
        value = float(ts)
        if EARLIEST_TIMESTAMP <= value <= received_at + TIMESTAMP_AHEAD_S:
            return value, False
    return received_at, True


def event_seconds(frame: Mapping[str, Any], received_at: float) -> float:
    """The frame's ``Timestamp`` (Unix seconds) when it is a plausible one, else
    ``received_at`` (see :func:`read_timestamp`)."""
    return read_timestamp(frame, received_at)[0]


class TimestampCheck:
    """The event times of one server's frames, counting the ``Timestamp`` fields refused
    (:func:`read_timestamp`) in :attr:`refused`; logs a warning for the first refusal
    and then every ``log_every``-th (a PBX whose clock says 1970 refuses them all)."""

    def __init__(self, server: str, log_every: int = 1000) -> None:
        self.server = server
        self.log_every = log_every
        self.refused = 0
        self.offset_s = 0.0
        """The PBX's clock less ours, by the latest Timestamp believed (0 before one)."""

    def pbx_time(self, ours: datetime) -> datetime:
        """``ours`` (our clock: a list response has no Timestamp) in the PBX's clock."""
        return ours + timedelta(seconds=self.offset_s)

    def event_time(self, frame: Mapping[str, Any], received_at: float) -> datetime:
        """As :func:`event_time`, counting (and now and then logging) a refusal."""
        seconds, refused = read_timestamp(frame, received_at)
        if not refused and "Timestamp" in frame:
            self.offset_s = seconds - received_at
        if refused:
            self.refused += 1
            if self.refused == 1 or self.refused % self.log_every == 0:
                log.warning("ami_timestamp_refused", server=self.server,
                            ami_event=text(frame, "Event"),
                            timestamp=repr(frame.get("Timestamp"))[:60],
                            received_at=received_at, refused=self.refused)
        return datetime.fromtimestamp(seconds, UTC)


def event_time(frame: Mapping[str, Any], received_at: float) -> datetime:
    """The event's ``Timestamp`` (timestampevents=yes) as UTC, else ``received_at``
    (as :func:`event_seconds`, which the journal stores)."""
    return datetime.fromtimestamp(event_seconds(frame, received_at), UTC)


def interface_of(channel: str) -> str:
    """``PJSIP/agent1001-0000000a`` → ``PJSIP/agent1001`` (Local channels keep their name)."""
    return _SEQ.sub("", channel)


def endpoint_of(interface_or_channel: str) -> str:
    """``PJSIP/agent1001[-0000000a]`` → ``agent1001``."""
    iface = interface_of(interface_or_channel)
    return iface.split("/", 1)[1] if "/" in iface else iface


def is_local(channel: str) -> bool:
    """True for a Local channel (dialplan plumbing, never a person)."""
    return channel.startswith("Local/")


def is_trunk(channel: str, context: str) -> bool:
    """True when ``channel`` faces the outside world (a SIP trunk), not an agent's phone.

    A trunk's endpoint name contains ``trunk`` or its calls start in an inbound
    context (``from-trunk``, ``from-pstn``, ``from-external``), as in the
    dialplan/ we ship.
    """
    endpoint = endpoint_of(channel).lower()
    return ("trunk" in endpoint or context.startswith(INBOUND_CONTEXTS)) and not is_local(channel)


def local_inbound(channel: str) -> tuple[str, str] | None:
    """(dialled exten, the ``;2`` half) when ``channel`` is the ``;1`` half of a Local channel
    into an inbound context: a call placed as if from the provider, e.g. docs/deployment.md's test
    call ``channel originate Local/800@from-trunk application Wait 60`` (no trunk, often
    no CallerID). The ``;2`` half runs the inbound dialplan: it is the customer's leg."""
    m = _LOCAL.match(channel)
    if m is None or not m["context"].startswith(INBOUND_CONTEXTS):
        return None
    return m["exten"], channel[:-1] + "2"


def dialled_number(dial_string: str) -> str:
    """The number of a ``Dial()`` string towards a trunk: ``PJSIP/0032…@trunk`` → ``0032…``."""
    target = dial_string.split("&", 1)[0].split(",", 1)[0]
    target = target.split("/", 1)[1] if "/" in target else target
    return target.split("@", 1)[0]


def recording_paths(app_data: str) -> list[str]:
    """The files a ``MixMonitor(file,options)`` call writes: the mix, then ``r()``/``t()`` legs."""
    head, _, options = app_data.partition(",")
    paths = [head.strip()] if head.strip() else []
    return paths + [p.strip() for p in _APP_PATHS.findall(options) if p.strip()]


RECORDING_CHANVARS = ("MIXMON_FILE", "MIXMONITOR_FILENAME")
"""Channel variables naming the channel's recording file: the shipped dialplan sets
``MIXMON_FILE`` and manager.conf ``channelvars`` repeats it on every later event."""


def chan_variable_paths(frame: Mapping[str, Any], key: str) -> list[str]:
    """The recording paths in ``frame[key]`` (``ChanVariable`` or ``DestChanVariable``,
    one ``NAME=value`` string or a list of them): the non-empty values of
    :data:`RECORDING_CHANVARS`, in order."""
    value = frame.get(key)
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, str):
            name, _, path = item.partition("=")
            if path and name in RECORDING_CHANVARS:
                out.append(path)
    return out


def base_name(path: str) -> str:
    """The file name of ``path`` (the part after the last ``/``)."""
    return path.rsplit("/", 1)[-1]
