"""The post-call survey's dialplan against ``[survey]`` (docs/survey.md).

On every surveyed queue (``survey.queues``) each ``Queue(<queue>,...)`` has option
``c`` (the caller stays when the agent hangs up) and is followed by
``Gosub(cc-survey,...)``; ``[cc-survey]`` reads one digit and emits ``UserEvent(Survey,
Score: ${<the Read variable>})`` without a ``Linkedid:`` header of its own (the event's
channel snapshot carries it: a second one arrives twice); the prompts it plays are in
``sounds/`` as 8 kHz mono 16-bit WAV; the daemon's AMI user reads class ``user``.
A queue running the survey without being listed is a warning.
"""

from __future__ import annotations

from collections.abc import Iterator

from callcenter.calls.survey import SCORE_FIELD, SURVEY_EVENT
from callcenter.deploy.ami_checks import read_classes
from callcenter.deploy.dialplan import Dialplan, Step, split_args
from callcenter.deploy.findings import Deployment, Finding
from callcenter.deploy.prompts import prompt_findings
from callcenter.settings import AmiServer, Settings

SURVEY_CONTEXT = "cc-survey"


def check_survey(dep: Deployment, settings: Settings) -> Iterator[Finding]:
    """Findings of the survey's dialplan, prompts and AMI read class."""
    dp, wanted = dep.dialplan, set(settings.survey.queues)
    ran: set[str] = set()
    for step, following in _queue_steps(dp):
        queue, options = _queue_and_options(dp, step)
        gosub = following is not None and _runs_survey(following)
        if gosub:
            ran.add(queue)
        if queue in wanted:
            yield from _surveyed_queue(step, queue, options, gosub)
        elif gosub:
            yield Finding(step.file, step.line, f"Queue({queue}) runs the survey but "
                          f"survey.queues does not list {queue!r}", warning=True)
    for queue in sorted(wanted - ran - _queues_in(dp)):
        yield Finding(dep.extensions.name, 1, f"survey.queues: no Queue({queue}) in the "
                      "dialplan")
    if wanted:
        yield from _survey_context(dep)
        yield from _manager_reads_user(dep, settings)


def _queue_steps(dp: Dialplan) -> Iterator[tuple[Step, Step | None]]:
    """Every Queue() step with the step after it in its extension (None: the last)."""
    for ctx in dp.contexts.values():
        for steps in ctx.extensions().values():
            for i, step in enumerate(steps):
                if step.app.lower() == "queue":
                    yield step, steps[i + 1] if i + 1 < len(steps) else None


def _queue_and_options(dp: Dialplan, step: Step) -> tuple[str, str]:
    args = split_args(dp.expand(step.data)) + [""]
    return args[0], args[1]


def _queues_in(dp: Dialplan) -> set[str]:
    return {_queue_and_options(dp, s)[0] for s, _ in _queue_steps(dp)}


def _runs_survey(step: Step) -> bool:
    return step.app.lower() == "gosub" and split_args(step.data)[0] == SURVEY_CONTEXT


def _surveyed_queue(step: Step, queue: str, options: str, gosub: bool) -> Iterator[Finding]:
    if "c" not in options:
        yield Finding(step.file, step.line, f"Queue({queue}) is surveyed but lacks option c: "
                      "the caller is hung up with the agent, the survey never runs")
    if not gosub:
        yield Finding(step.file, step.line, f"Queue({queue}) is surveyed but the next step "
                      f"is not Gosub({SURVEY_CONTEXT},s,1)")


def _survey_context(dep: Deployment) -> Iterator[Finding]:
    ctx = dep.dialplan.contexts.get(SURVEY_CONTEXT)
    if ctx is None:
        yield Finding(dep.extensions.name, 1, f"no [{SURVEY_CONTEXT}] context: the surveyed "
                      "queues' Gosub has nowhere to go")
        return
    reads = [s for s in ctx.steps if s.app.lower() == "read"]
    events = [s for s in ctx.steps if s.app.lower() == "userevent"]
    if not reads:
        yield Finding(ctx.file, ctx.line, f"[{SURVEY_CONTEXT}] has no Read(): no score is asked")
    variable = split_args(reads[0].data)[0] if reads else "SCORE"
    if not events:
        yield Finding(ctx.file, ctx.line, f"[{SURVEY_CONTEXT}] has no UserEvent(): the daemon "
                      "never learns the score")
    for step in events:
        yield from _user_event(step, variable)
    for step in ctx.steps:
        yield from prompt_findings(dep, step)


def _user_event(step: Step, variable: str) -> Iterator[Finding]:
    args = split_args(step.data)
    fields = {k.strip().lower(): v.strip() for k, _, v in (a.partition(":") for a in args[1:])}
    if args[0] != SURVEY_EVENT:
        yield Finding(step.file, step.line, f"UserEvent name {args[0]!r}: the daemon reads "
                      f"UserEvent({SURVEY_EVENT},...)")
    if fields.get(SCORE_FIELD.lower()) != f"${{{variable}}}":
        yield Finding(step.file, step.line, f"UserEvent has no '{SCORE_FIELD}: ${{{variable}}}' "
                      "(the digit Read took)")
    if "linkedid" in fields:
        yield Finding(step.file, step.line, "UserEvent sets its own Linkedid: the event's "
                      "channel snapshot already has one, it would arrive twice")


def _manager_reads_user(dep: Deployment, settings: Settings) -> Iterator[Finding]:
    conf = dep.manager
    for username in sorted({s.username for s in settings.servers or [AmiServer(name="pbx")]}):
        user = conf.first(username)
        if user is not None and "user" not in read_classes(conf, user):
            read = conf.get(user, "read")
            yield Finding(conf.name, read.line if read else user.line,
                          f"AMI user [{username}] read lacks user: the survey's UserEvent "
                          "never reaches the daemon (survey.queues is not empty)")
