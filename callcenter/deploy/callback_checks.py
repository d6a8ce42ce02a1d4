"""extensions.conf and queues.conf against ``[callbacks]``: the FastAGI the dialplan asks
is the daemon's (loopback, its port), asks it only after setting the safe defaults, the
callback queues send a caller who presses 1 to a request, and the callback context dials.

Asking the daemon needs no AMI privilege: the AMI user's classes are checked by
:mod:`callcenter.deploy.ami_checks`, which refuses any class beyond what the daemon
already needed (``system`` and ``command`` above all).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator

from callcenter.deploy.dialplan import Context, Dialplan, Step, exten_matches, split_args
from callcenter.deploy.findings import Deployment, Finding
from callcenter.deploy.pbx_checks import SAMPLE_NUMBER
from callcenter.deploy.prompts import prompt_findings, sound_problem
from callcenter.settings import Settings

_AGI_URL = re.compile(r"^agi://\[?([^\]/]+?)\]?(?::(\d+))?/([A-Za-z0-9_.-]+)")
_GOSUB = re.compile(r"^\s*([\w-]+)\s*,")
DEFAULTS = {"priority": ("QUEUE_PRIO", "CALLBACK_OFFER"), "callback": ("CALLBACK_ACCEPTED",)}
"""Variables each script's caller must set to the safe default before asking."""


def check_callbacks(dep: Deployment, settings: Settings) -> Iterator[Finding]:
    """Findings of the priority and callback dialplan (see the module docstring)."""
    dp, cfg = dep.dialplan, settings.callbacks
    for step in dp.all_steps():
        if step.app.lower() == "agi" and step.data.lstrip().lower().startswith("agi://"):
            yield from _agi_step(dp, step, settings)
    for queue, qcfg in cfg.queues.items():
        if qcfg.enabled:
            yield from _callback_queue(dep, queue)
    yield from _dial_context(dp, dep.extensions.name, cfg.originate_context)


def _agi_step(dp: Dialplan, step: Step, settings: Settings) -> Iterator[Finding]:
    where = f"[{step.context}] {step.exten}"
    url = dp.expand(split_args(step.data)[0])
    m = _AGI_URL.match(url)
    if m is None:
        yield Finding(step.file, step.line, f"{where}: AGI URL {url!r} is not agi://host:port/"
                      "script")
        return
    host, port, script = m.group(1), int(m.group(2) or 4573), m.group(3)
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        yield Finding(step.file, step.line, f"{where}: FastAGI at {host}, not loopback: the "
                      "service has no authentication")
    if port != settings.callbacks.agi_port:
        yield Finding(step.file, step.line, f"{where}: FastAGI port {port} is not "
                      f"callbacks.agi_port {settings.callbacks.agi_port}")
    if script not in DEFAULTS:
        yield Finding(step.file, step.line, f"{where}: the daemon has no AGI script {script!r}"
                      f" (it serves {', '.join(DEFAULTS)})")
        return
    before = {s.data.partition("=")[0].strip() for s in _extension(dp, step)
              if s.priority < step.priority and s.app.lower() == "set"}
    missing = [v for v in DEFAULTS[script] if v not in before]
    if missing:
        yield Finding(step.file, step.line, f"{where}: {', '.join(missing)} not set before "
                      f"AGI(.../{script}): with the daemon away the call would go on without "
                      "a safe default")


def _extension(dp: Dialplan, step: Step) -> list[Step]:
    return dp.contexts[step.context].extensions().get(step.exten, [])


def _callback_queue(dep: Deployment, queue: str) -> Iterator[Finding]:
    conf, dp = dep.queues, dep.dialplan
    section = conf.first(queue)
    if section is None:
        yield Finding(conf.name, 1, f"callbacks.queues.{queue}: no such queue in queues.conf")
        return
    context = conf.get(section, "context")
    if context is None:
        yield Finding(section.file, section.line, f"queue {queue}: no context = (callbacks."
                      f"queues.{queue} is enabled): a caller pressing 1 stays in the queue")
        return
    ctx = dp.contexts.get(context.value)
    steps = ctx.extensions().get("1", []) if ctx is not None else []
    if not steps:
        yield Finding(context.file, context.line, f"queue {queue}: context {context.value!r} "
                      "has no extension 1: pressing 1 does nothing")
        return
    reached = _reached(dp, steps)
    for step in reached:
        yield from prompt_findings(dep, step)
    announce = conf.get(section, "periodic-announce")
    if announce is not None and (problem := sound_problem(dep.directory, announce.value)):
        yield Finding(announce.file, announce.line, f"queue {queue}: periodic-announce {problem}")
    if not any(s.app.lower() == "agi" and "/callback" in s.data for s in reached):
        yield Finding(steps[0].file, steps[0].line, f"[{context.value}] 1 does not ask the "
                      "daemon (AGI .../callback): no callback request is recorded")
    if not any(s.app.lower() == "set" and s.data.startswith("CALLBACK_REQUESTED=")
               for s in reached):
        yield Finding(steps[0].file, steps[0].line, f"[{context.value}] 1 does not set "
                      "CALLBACK_REQUESTED: the original call would count as abandoned")


def _reached(dp: Dialplan, steps: list[Step]) -> list[Step]:
    """``steps`` and the steps of the ``s`` extension of the contexts they Gosub into."""
    out, todo = list(steps), list(steps)
    while todo:
        step = todo.pop()
        m = _GOSUB.match(step.data) if step.app.lower() == "gosub" else None
        ctx = dp.contexts.get(m.group(1)) if m else None
        for sub in ctx.extensions().get("s", []) if ctx else []:
            if sub not in out:
                out.append(sub)
                todo.append(sub)
    return out


def _dial_context(dp: Dialplan, name: str, context: str) -> Iterator[Finding]:
    ctx: Context | None = dp.contexts.get(context)
    if ctx is None:
        yield Finding(name, 1, f"context [{context}] (callbacks.originate_context) does not "
                      "exist: callbacks would fail")
        return
    hits = [steps for exten, steps in ctx.extensions().items()
            if exten_matches(exten, SAMPLE_NUMBER)]
    if not any(s.app.lower() == "dial" for steps in hits for s in steps):
        yield Finding(ctx.file, ctx.line, f"[{context}] has no extension that dials a customer "
                      f"number (e.g. {SAMPLE_NUMBER}): callbacks would ring agents only")
