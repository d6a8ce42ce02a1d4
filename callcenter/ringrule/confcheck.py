"""Compare the PBX's queue member timeouts with the ring rule.

Sources: the live Asterisk (AMI ``GetConfig queues.conf``; ``QueueSummary``
names the loaded queues) and/or a queues.conf path from the settings. Both
actions are read-only: the AMI user needs ``config`` for GetConfig and nothing
for QueueSummary (never ``command``, which would also allow ``core stop now``).
A queue whose member ``timeout`` differs from the rule's deadline is
reported as a :class:`Mismatch` (logged as ``ring_policy_mismatch``).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import structlog

from callcenter.asterisk_conf import ConfFile, parse_conf_text
from callcenter.ringrule.actions import classify_response
from callcenter.ringrule.rules import RingSettingsFor

log = structlog.get_logger(__name__)

APP_QUEUE_DEFAULT_TIMEOUT_S = 15.0
_CATEGORY = re.compile(r"^Category-(\d+)$")
_LINE = re.compile(r"^Line-(\d+)-(\d+)$")


@dataclass
class QueueConf:
    """What queues.conf says about one queue."""

    name: str
    timeout_s: float | None = None
    autopause: bool = False

    @property
    def effective_timeout_s(self) -> float:
        """The member ring timeout app_queue uses (15 s when unset)."""
        return APP_QUEUE_DEFAULT_TIMEOUT_S if self.timeout_s is None else self.timeout_s


@dataclass(frozen=True)
class Mismatch:
    """A queue whose ring timeout disagrees with the ring rule."""

    queue: str
    timeout_s: float
    deadline_s: float
    source: str


def _apply(conf: QueueConf, key: str, value: str) -> None:
    key, value = key.strip().lower(), value.strip()
    if key == "timeout":
        try:
            conf.timeout_s = float(value)
        except ValueError:
            pass
    elif key == "autopause":
        conf.autopause = value.lower() in {"yes", "true", "1", "on", "all"}


def _build(sections: Iterable[tuple[str, list[str], list[tuple[str, str]]]]) -> dict[str, QueueConf]:
    """Queues from (name, templates, key=value pairs); ``general`` and templates dropped."""
    raw: dict[str, tuple[list[str], list[tuple[str, str]]]] = {}
    templates: set[str] = set()
    for name, bases, pairs in sections:
        if "!" in bases:
            templates.add(name)
        old = raw.get(name)
        raw[name] = (bases if old is None else old[0] + bases, pairs if old is None else old[1] + pairs)
    out: dict[str, QueueConf] = {}
    for name, (bases, pairs) in raw.items():
        if name in templates or name.lower() == "general":
            continue
        conf = QueueConf(name)
        for base in bases:
            for key, value in raw.get(base, ([], []))[1]:
                _apply(conf, key, value)
        for key, value in pairs:
            _apply(conf, key, value)
        out[name] = conf
    return out


def parse_queues_conf(text: str) -> dict[str, QueueConf]:
    """Parse queues.conf text (Asterisk's config syntax: see :mod:`callcenter.asterisk_conf`)."""
    return queues_of(parse_conf_text(text, "queues.conf"))


def queues_of(conf: ConfFile) -> dict[str, QueueConf]:
    """The queues of a parsed queues.conf (templates applied; ``general`` and templates dropped)."""
    return _build(
        (s.name, ["!", *s.bases] if s.template else list(s.bases),
         [(setting.key, setting.value) for setting in s.settings])
        for s in conf.sections
    )


def parse_getconfig(response: Mapping[str, object]) -> dict[str, QueueConf]:
    """Parse an AMI ``GetConfig`` (``Filename: queues.conf``) Success response."""
    names: dict[str, str] = {}
    pairs: dict[str, list[tuple[str, str]]] = {}
    bases: dict[str, list[str]] = {}
    for key, value in response.items():
        if not isinstance(value, str):
            continue
        if m := _CATEGORY.match(key):
            names[m.group(1)] = value
        elif m := _LINE.match(key):
            k, _, v = value.partition("=")
            pairs.setdefault(m.group(1), []).append((k, v))
        elif key.startswith("IsTemplate-") and value.lower() in {"1", "yes", "true"}:
            bases.setdefault(key.split("-", 1)[1], []).append("!")
        elif key.startswith("Templates-"):
            bases.setdefault(key.split("-", 1)[1], []).extend(
                t.strip() for t in value.split(",") if t.strip()
            )
    return _build((names[i], bases.get(i, []), pairs.get(i, [])) for i in sorted(names))


def queues_from_summary(events: Iterable[Mapping[str, object]]) -> set[str]:
    """Queue names of the ``QueueSummary`` events of a ``QueueSummary`` list action."""
    return {q for ev in events if ev.get("Event") == "QueueSummary"
            and isinstance(q := ev.get("Queue"), str) and q}


def compare(
    queues: Mapping[str, QueueConf], settings_for: RingSettingsFor, source: str,
    only: set[str] | None = None,
) -> list[Mismatch]:
    """Queues (of ``only``, when given) whose member timeout is not the rule's deadline."""
    out: list[Mismatch] = []
    for name in sorted(queues):
        if only is not None and name not in only:
            continue
        timeout = queues[name].effective_timeout_s
        deadline = settings_for(name).deadline_s
        if abs(timeout - deadline) > 1e-6:
            out.append(Mismatch(name, timeout, deadline, source))
    return out


class ActionClient(Protocol):
    """What the ring rule needs of an AMI client (``AMIClient.send_action`` writes at
    once and returns a future; a coroutine function fits too); ``send_list_action``
    (a ``ListResult``) for the ``QueueSummary`` of the startup check."""

    def send_action(self, action: dict[str, str], timeout: float | None = None) -> Awaitable[Any]: ...

    def send_list_action(self, action: dict[str, str], timeout: float | None = None
                         ) -> Awaitable[Any]: ...


async def check_server(
    server: str, client: ActionClient, settings_for: RingSettingsFor, queues_conf: Path | None = None,
    timeout: float | None = None,
) -> tuple[list[Mismatch], dict[str, QueueConf]]:
    """Compare the PBX's queue timeouts (live ``GetConfig``, and ``queues_conf``) with the rule.

    Logs ``ring_policy_mismatch`` per disagreeing queue (only queues
    ``QueueSummary`` lists, when it answers). Returns the mismatches and what is known
    of each queue (the live PBX's view over the file's). Never raises.
    """
    live: set[str] | None = None
    sources: list[tuple[str, dict[str, QueueConf]]] = []
    try:
        summary = await client.send_list_action({"Action": "QueueSummary"}, timeout)
        if classify_response(summary.response)[0] == "ok":
            live = queues_from_summary(summary.events) or None
        conf = await client.send_action({"Action": "GetConfig", "Filename": "queues.conf"},
                                        timeout)
        if classify_response(conf)[0] == "ok":
            sources.append(("asterisk", parse_getconfig(conf)))
    except Exception as exc:  # noqa: BLE001 - a check must never stop the daemon
        log.warning("ring_policy_check_failed", server=server, error=repr(exc))
    if queues_conf is not None:
        try:
            sources.append((str(queues_conf),
                            parse_queues_conf(queues_conf.read_text(encoding="utf-8"))))
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("ring_policy_conf_unreadable", path=str(queues_conf), error=str(exc))
    found: list[Mismatch] = []
    known: dict[str, QueueConf] = {}
    for source, queues in reversed(sources):  # the live PBX's view wins
        known.update(queues)
        found.extend(compare(queues, settings_for, source, live))
    for m in found:
        log.warning("ring_policy_mismatch", server=server, queue=m.queue, timeout_s=m.timeout_s,
                    deadline_s=m.deadline_s, source=m.source)
    if not sources:
        log.warning("ring_policy_unchecked", server=server,
                    reason="no GetConfig answer and no ring.queues_conf")
    return found, known
