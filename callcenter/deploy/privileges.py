"""The manager.conf read/write classes the daemon needs, and nothing more.

Write classes per action are those Asterisk 22 registers the action with
(``main/manager.c`` ``__init_manager``, ``apps/app_queue.c`` ``load_module``);
Asterisk allows an action when the user has ANY of its classes, or the action
has none. Read classes are the ``Privilege`` of the events the daemon reads.
"""

from __future__ import annotations

ALL_CLASSES = frozenset({
    "system", "call", "log", "verbose", "command", "agent", "user", "config", "dtmf",
    "reporting", "cdr", "dialplan", "originate", "agi", "cc", "aoc", "test", "security",
    "message",
})

READ_NEEDED: dict[str, str] = {
    "call": "channel, dial, bridge, hold, transfer, MixMonitorStart and hangup events",
    "agent": "queue caller, AgentCalled/Connect/Complete/RingNoAnswer and queue member events",
    "dialplan": "Newexten and VarSet events (recording file names, QUEUESTATUS, DIALSTATUS)",
    "system": "FullyBooted at each login (the PBX's Uptime: a restart told from an outage, "
              "the calls that spanned the outage) and Shutdown events; reading them grants "
              "no action",
}

READ_HARMLESS: dict[str, str] = {
    "user": "UserEvent: the post-call survey's answers (needed on surveyed queues); "
            "reading it grants no action",
}
"""Read classes not always needed but harmless to grant (events only, no action)."""

ACTION_CLASSES: dict[str, tuple[str, ...]] = {
    "Ping": (),
    "QueueStatus": (),
    "QueueSummary": (),
    "Hangup": ("system", "call"),
    "Redirect": ("call",),
    "QueuePause": ("agent",),
    "QueueAdd": ("agent",),
    "QueueRemove": ("agent",),
    "Originate": ("originate",),
    "CoreShowChannels": ("system", "reporting"),
    "GetConfig": ("system", "config"),
}
"""Every action the daemon sends → the classes any one of which allows it."""

WRITE_LEAST = frozenset({"call", "agent", "originate", "reporting", "config"})
"""The narrowest classes that allow every action of :data:`ACTION_CLASSES` (no ``system``)."""

WRITE_DANGEROUS: dict[str, str] = {
    "command": "lets the user run any CLI command, 'core stop now' included",
    "system": "lets Originate run System(), a shell on the PBX (and Restart, Shutdown, "
              "ModuleLoad)",
}
"""Write classes that hand the PBX itself to whoever holds the AMI secret → why."""


def parse_classes(value: str) -> tuple[set[str], list[str]]:
    """(classes granted, unknown words) of a ``read =``/``write =`` value.

    ``all`` grants every class; ``none`` none; unknown words are ignored by
    Asterisk and returned so they can be reported.
    """
    granted: set[str] = set()
    unknown: list[str] = []
    for word in (w.strip().lower() for w in value.split(",")):
        if word == "all":
            granted |= ALL_CLASSES | {"all"}
        elif word in ALL_CLASSES:
            granted.add(word)
        elif word and word != "none":
            unknown.append(word)
    return granted, unknown


def denied_actions(write: set[str], *, queues_conf: bool = False) -> dict[str, tuple[str, ...]]:
    """Actions the daemon sends that ``write`` does not allow → the classes they need.

    With ``queues_conf`` (``ring.queues_conf`` set) GetConfig is not needed: the
    ring policy check reads that file when Asterisk answers 'Permission denied'.
    """
    return {action: classes for action, classes in ACTION_CLASSES.items()
            if classes and not write.intersection(classes)
            and not (queues_conf and action == "GetConfig")}
