"""The post-call survey on the simulated PBX, as Asterisk 22 plays it (real3/survey).

A surveyed queue runs ``Queue(<queue>,ct,...)``: when the agent hangs up first the
caller stays (``QUEUESTATUS=CONTINUE``) and the dialplan's ``Gosub(cc-survey,s,1)``
reads one digit (``Read``: ``READSTATUS=ERROR`` first, the agent's channel hung up just
after), then emits ``UserEvent(Survey,Score: ${SCORE})``: an event in class ``user``
carrying the caller channel's snapshot, ``Score`` empty when nothing was pressed.
When the caller hung up first ``QUEUESTATUS=CONTINUE`` comes too, but no dialplan step
runs on a channel that hung up: no survey. A caller may hang up during the prompt
(``READSTATUS=HANGUP``, no UserEvent). How callers answer: :class:`SurveyReply` per
call, else drawn from :class:`callcenter.sim.model.SurveyConfig`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from callcenter.sim.model import Channel, SurveyReply

if TYPE_CHECKING:
    from callcenter.sim.calls import Call

SURVEY_CONTEXT = "cc-survey"
DTMF_MS = 100
"""A key press's length (DTMFEnd ``DurationMs``, as captured)."""


async def run_survey(call: Call, queue_priority: str, release_agent: Callable[[], None]) -> None:
    """Survey the caller of ``call`` (the agent hung up first; ``release_agent`` hangs the
    agent's channel up once the Read started, as Asterisk does)."""
    pbx, cust = call.pbx, call.channel
    cfg = pbx.config.survey
    reply = call.survey_reply or cfg.reply(pbx.rng)
    pbx.newexten(cust, str(int(queue_priority) + 1), "Gosub", f"{SURVEY_CONTEXT},s,1")
    back = cust.context, cust.exten
    cust.context, cust.exten = SURVEY_CONTEXT, "s"
    pbx.newexten(cust, "1", "GotoIf", "0?done")
    prompt = f"callcenter/{cfg.language}"
    pbx.newexten(cust, "2", "Read", f"SCORE,{prompt}/cc-survey-prompt,1,,1,{cfg.wait_s:g}")
    pbx.set_var(cust, "READSTATUS", "ERROR")
    release_agent()
    digit = await _caller(call, reply, cfg.prompt_s + cfg.wait_s)
    if not cust.alive:
        return
    if digit is None:
        pbx.set_var(cust, "SCORE", "")
        pbx.set_var(cust, "READSTATUS", "TIMEOUT")
    else:
        pbx.set_var(cust, "SCORE", digit)
        pbx.set_var(cust, "READSTATUS", "OK")
    score = digit or ""
    pbx.newexten(cust, "3", "UserEvent", f"Survey,Score: {score}")
    pbx.emit(pbx.ev.chan("UserEvent", cust, {"UserEvent": "Survey", "Score": score},
                         "user,all"))
    pbx.newexten(cust, "4", "ExecIf", f"{int(digit is not None)}?Playback({prompt}/"
                 "cc-survey-thanks)")
    pbx.newexten(cust, "5", "Return", "")
    cust.context, cust.exten = back
    pbx.newexten(cust, str(int(queue_priority) + 2), "Hangup", "")
    call.hangup_customer(16)


def skip_survey(call: Call, queue_priority: str) -> None:
    """A surveyed queue left without an answer (QUEUESTATUS=TIMEOUT...): the Gosub runs,
    its first line returns at once, then the dialplan hangs up."""
    pbx, cust = call.pbx, call.channel
    context, exten = cust.context, cust.exten
    pbx.newexten(cust, str(int(queue_priority) + 1), "Gosub", f"{SURVEY_CONTEXT},s,1")
    cust.context, cust.exten = SURVEY_CONTEXT, "s"
    pbx.newexten(cust, "1", "GotoIf", "1?done")
    pbx.newexten(cust, "5", "Return", "")
    cust.context, cust.exten = context, exten
    pbx.newexten(cust, str(int(queue_priority) + 2), "Hangup", "")


async def _caller(call: Call, reply: SurveyReply, limit_s: float) -> str | None:
    """Wait for the caller's key (returned), the Read's timeout (None) or a hang-up
    (the channel is gone when this returns)."""
    pbx, cust = call.pbx, call.channel
    if reply.hang_up_s is not None and reply.hang_up_s < limit_s:
        due = call.after(reply.hang_up_s, "survey_hangup", cust)
    elif reply.digit is not None and reply.after_s < limit_s:
        due = call.after(reply.after_s, "survey_key", cust)
    else:
        due = call.after(limit_s, "survey_timeout", cust)
    while True:
        msg = await call.next()
        if msg[0] == "survey_key" and msg[1] is cust:
            _press(call, cust, reply.digit or "")
            return reply.digit
        if msg[0] == "survey_timeout" and msg[1] is cust:
            return None
        if msg[0] in ("survey_hangup", "hangup") and msg[1] is cust:
            due.cancel()
            pbx.request_hangup(cust)
            pbx.set_var(cust, "READSTATUS", "HANGUP")
            pbx.hangup(cust, 16)
            return None
        call.ignore(msg)


def _press(call: Call, cust: Channel, digit: str) -> None:
    """DTMFBegin/DTMFEnd of one key, received from the caller (class dtmf)."""
    pbx = call.pbx
    pbx.emit(pbx.ev.chan("DTMFBegin", cust, {"Digit": digit, "Direction": "Received"},
                         "dtmf,all"))
    pbx.emit(pbx.ev.chan("DTMFEnd", cust, {"Digit": digit, "DurationMs": str(DTMF_MS),
                                           "Direction": "Received"}, "dtmf,all"))
