"""queues.conf, extensions.conf and pjsip.conf against the daemon's settings.

The ring-deadline comparison is :mod:`callcenter.ringrule.confcheck`'s (the
same one the daemon runs at connect); this module adds the file and line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from callcenter.asterisk_conf import ConfFile, Section
from callcenter.deploy.dialplan import Context, Dialplan, Step, exten_matches, split_args
from callcenter.deploy.findings import Deployment, Finding, is_true
from callcenter.ringrule.confcheck import compare, queues_of
from callcenter.settings import Settings

OBSOLETE_QUEUE_OPTIONS = ("eventwhencalled", "eventmemberstatus")
STAMP_FORMAT = "%Y%m%d-%H%M%S"
NAME_SUFFIX = "-${UNIQUEID}.wav"
_LABEL_TOKENS = re.compile(r"[,:]")
SAMPLE_NUMBER = "13800138000"
"""An outside number to try the outbound context's patterns with."""


def queue_sections(conf: ConfFile) -> list[Section]:
    """The queues of queues.conf (no templates, no [general])."""
    return [s for s in conf.sections if not s.template and s.name.lower() != "general"]


def check_queues(dep: Deployment, settings: Settings) -> Iterator[Finding]:
    """Member timeout = ring deadline, ringinuse = no, no double pause policy, no queue recording."""
    conf, parsed = dep.queues, queues_of(dep.queues)
    for mismatch in compare(parsed, settings.ring_settings_for, conf.name):
        section = conf.first(mismatch.queue)
        if section is None:
            continue
        timeout = conf.get(section, "timeout")
        unset = "" if timeout else " (not set: app_queue's default)"
        yield Finding(timeout.file if timeout else section.file,
                      timeout.line if timeout else section.line,
                      f"queue {mismatch.queue}: member timeout {mismatch.timeout_s:g} s{unset} "
                      f"is not the ring deadline {mismatch.deadline_s:g} s "
                      "(ring.cycle_s x ring.rings_allowed)")
    for section in queue_sections(conf):
        yield from _queue_options(conf, section, settings, parsed[section.name].autopause
                                  if section.name in parsed else False)


def _queue_options(conf: ConfFile, section: Section, settings: Settings,
                   autopause: bool) -> Iterator[Finding]:
    name = section.name
    ringinuse = conf.get(section, "ringinuse")
    if ringinuse is None or is_true(ringinuse.value):
        yield Finding(ringinuse.file if ringinuse else section.file,
                      ringinuse.line if ringinuse else section.line,
                      f"queue {name}: ringinuse is not no: an agent already on a call is rung "
                      "again (app_queue's default is yes)")
    setting = conf.get(section, "autopause")
    if autopause and setting is not None and settings.ring_settings_for(name).misses_before_pause:
        yield Finding(setting.file, setting.line,
                      f"queue {name}: autopause = {setting.value} pauses an agent after one "
                      "miss, while the daemon pauses after ring.misses_before_pause = "
                      f"{settings.ring_settings_for(name).misses_before_pause}")
    for key in OBSOLETE_QUEUE_OPTIONS:
        old = conf.get(section, key)
        if old is not None:
            yield Finding(old.file, old.line, f"queue {name}: {key} no longer exists (Asterisk "
                          "12+ always sends these events; Asterisk warns 'Unknown keyword')")
    monitor = conf.get(section, "monitor-format")
    if monitor is not None:
        yield Finding(monitor.file, monitor.line,
                      f"queue {name}: monitor-format makes the queue record as "
                      "${UNIQUEID}, not under the name the daemon expects: record with "
                      "MixMonitor in extensions.conf")


def check_dialplan(dep: Deployment, settings: Settings) -> Iterator[Finding]:
    """Recording names and path, the direct-call fallback label, the outbound context."""
    dp, name = dep.dialplan, dep.extensions.name
    yield from _recordings(dp, settings.recordings.asterisk_dir)
    yield from _fallback(dp, name, settings)
    yield from _outbound(dp, name, settings)


def _outbound(dp: Dialplan, name: str, settings: Settings) -> Iterator[Finding]:
    panel = settings.agent_panel
    ctx = dp.contexts.get(panel.outbound_context)
    if ctx is None:
        yield Finding(name, 1, f"context [{panel.outbound_context}] "
                      "(agent_panel.outbound_context) does not exist: click-to-call would fail")
        return
    dialled = f"{panel.outbound_prefix}{SAMPLE_NUMBER}"
    if not any(exten_matches(exten, dialled) for c in _reachable(dp, ctx)
               for exten in c.extensions()):
        yield Finding(ctx.file, ctx.line, f"[{ctx.name}] has no extension for "
                      f"agent_panel.outbound_prefix + number (e.g. {dialled}): click-to-call "
                      "would fail")


def _reachable(dp: Dialplan, ctx: Context) -> list[Context]:
    """``ctx`` and the contexts it includes, recursively."""
    out, todo = [ctx], list(ctx.includes)
    while todo:
        found = dp.contexts.get(todo.pop())
        if found is not None and found not in out:
            out.append(found)
            todo.extend(found.includes)
    return out


def _recordings(dp: Dialplan, asterisk_dir: str) -> Iterator[Finding]:
    directory = asterisk_dir.rstrip("/")
    for ctx in dp.contexts.values():
        for steps in ctx.extensions().values():
            announced: str | None = None
            for step in steps:
                if step.app.lower() == "set" and step.data.startswith("MIXMON_FILE="):
                    announced = step.data.partition("=")[2].strip()
                elif step.app.lower() == "mixmonitor":
                    yield from _recording_name(dp, step, announced, directory)


def _recording_name(dp: Dialplan, step: Step, announced: str | None,
                    directory: str) -> Iterator[Finding]:
    target = split_args(step.data)[0]
    if target == "${MIXMON_FILE}":
        if announced is None:
            yield Finding(step.file, step.line, "MixMonitor(${MIXMON_FILE}) but MIXMON_FILE is "
                          "not set before it in this extension")
            return
        target = announced
    path = dp.expand(target)
    folder, _, base = path.rpartition("/")
    where = f"[{step.context}] {step.exten}"
    if folder != directory:
        yield Finding(step.file, step.line, f"{where}: MixMonitor writes into {folder or '.'!r},"
                      f" not recordings.asterisk_dir {directory!r}: the daemon will not find "
                      "the recording")
    if not (base.endswith(NAME_SUFFIX) and STAMP_FORMAT in base):
        yield Finding(step.file, step.line, f"{where}: recording name {base!r} is not "
                      f"<{STAMP_FORMAT}>-<caller number>{NAME_SUFFIX}: the daemon links a "
                      "recording to its channel by that name")


def _fallback(dp: Dialplan, name: str, settings: Settings) -> Iterator[Finding]:
    ring = settings.ring
    ctx = dp.contexts.get(ring.fallback_context)
    if ctx is None:
        yield Finding(name, 1, f"context [{ring.fallback_context}] (ring.fallback_context) does "
                      "not exist: the three-ring redirect of direct calls has nowhere to go")
        return
    label = ring.fallback_priority
    if label == "1":
        yield Finding(ctx.file, ctx.line, "ring.fallback_priority = 1 runs Answer and MixMonitor"
                      " again on a redirect (a second recording): use a label such as toqueue")
        return
    direct = {exten: steps for exten, steps in ctx.extensions().items()
              if any(_agent_dial(s) for s in steps)}
    if not direct and not any(_has_label(s, label) for s in ctx.steps):
        yield Finding(ctx.file, ctx.line, f"[{ctx.name}] has no step labelled {label!r} "
                      "(ring.fallback_priority): the three-ring redirect would fail")
    deadline = settings.ring_settings_for(None).deadline_s
    for exten, steps in direct.items():
        yield from _direct_extension(dp, ctx.name, exten, steps, label, deadline)


def _agent_dial(step: Step) -> bool:
    """A Dial() of one PJSIP endpoint (an agent), not of a number through a trunk."""
    target = split_args(step.data)[0] if step.app.lower() == "dial" else ""
    return target.startswith("PJSIP/") and "@" not in target and "&" not in target


def _has_label(step: Step, label: str) -> bool:
    return step.label == label or (label.isdigit() and step.priority == int(label))


def _direct_extension(dp: Dialplan, context: str, exten: str, steps: list[Step], label: str,
                      deadline: float) -> Iterator[Finding]:
    where = f"[{context}] {exten}"
    dialled = "<dialled number>" if exten.startswith("_") else exten
    dial = next(s for s in steps if _agent_dial(s))
    target = next((s for s in steps if _has_label(s, label)), None)
    if target is None:
        yield Finding(steps[0].file, steps[0].line, f"{where} dials an agent but has no step "
                      f"labelled {label!r}: the three-ring redirect "
                      f"({context},{dialled},{label}) would fail")
    elif target.app.lower() != "queue":
        yield Finding(target.file, target.line, f"{where}: the step labelled {label!r} runs "
                      f"{target.app}, not Queue(): a redirected caller would not reach a queue")
    if not any(_goes_to(s, label) for s in steps if s.priority > dial.priority):
        yield Finding(dial.file, dial.line, f"{where}: after Dial() no GotoIf/Goto to {label!r}:"
                      " a caller whose agent does not answer (NOANSWER) is not queued")
    args = split_args(dp.expand(dial.data))
    try:
        timeout = float(args[1]) if len(args) > 1 and args[1] else None
    except ValueError:
        timeout = None
    if timeout is not None and timeout <= deadline:
        yield Finding(dial.file, dial.line, f"{where}: Dial timeout {timeout:g} s is not longer "
                      f"than the ring deadline {deadline:g} s: Dial's own NOANSWER races the "
                      "daemon's redirect (make it longer, e.g. 30)")


def _goes_to(step: Step, label: str) -> bool:
    app = step.app.lower()
    if app not in {"goto", "gotoif"}:
        return False
    dest = step.data.split("?", 1)[1] if app == "gotoif" and "?" in step.data else step.data
    return label in {t.strip() for t in _LABEL_TOKENS.split(dest)}


def check_pjsip(dep: Deployment) -> Iterator[Finding]:
    """Endpoints' contexts exist in the dialplan; static queue members are endpoints."""
    conf = dep.pjsip
    endpoints = {s.name: s for s in conf.sections if not s.template
                 and (t := conf.get(s, "type")) is not None and t.value.lower() == "endpoint"}
    for endpoint in endpoints.values():
        ctx = conf.get(endpoint, "context")
        if ctx is not None and ctx.value not in dep.dialplan.contexts:
            yield Finding(ctx.file, ctx.line, f"endpoint {endpoint.name}: context {ctx.value!r} "
                          "does not exist in extensions.conf")
    for queue in queue_sections(dep.queues):
        for member in (s for s in dep.queues.chain(queue) if s.key == "member"):
            interface = split_args(member.value)[0]
            tech, _, name = interface.partition("/")
            if tech.upper() == "PJSIP" and name not in endpoints:
                yield Finding(member.file, member.line, f"queue {queue.name}: member "
                              f"{interface} is not an endpoint of pjsip.conf")
