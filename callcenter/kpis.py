"""The call-centre KPIs: one written definition and one implementation each.

The live wallboard and the reports both use these pure functions over
:class:`~callcenter.calls.model.CallRecord` and agent state facts. Counts and
second sums are gathered in additive dataclasses (:class:`CallFigures`,
:class:`AgentFigures`) so that buckets, rollups and the SQL form of the reports
(``callcenter.store.report_reads``) combine them by addition; every ratio is a
property computed from those sums, here and nowhere else.

Conventions: a call belongs to the period (and hour/day bucket) in which it
*started*, in the centre's time zone (``web.timezone``), even when it ends after
midnight. Times are UTC datetimes, durations float seconds. ``now`` is the
instant open calls are measured at (the wallboard's clock, or a report's end).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from typing import Any, Literal, Self
from zoneinfo import ZoneInfo

from callcenter.calls.model import AgentStateChanged, CallRecord, seconds_between

Denominator = Literal["offered", "answered", "offered_minus_short"]

DEFINITIONS: dict[str, dict[str, str]] = {
    "offered": {
        "en": "Inbound calls that started in the period (answered, abandoned, timed out, "
              "still waiting or otherwise ended).",
        "zh": "本期间开始的呼入电话总数（含已接、放弃、超时、仍在等待等）。"},
    "answered": {
        "en": "Offered calls answered by an agent.",
        "zh": "由坐席接听的呼入电话数。"},
    "abandoned": {
        "en": "Offered calls the caller hung up before an answer, short abandons excluded.",
        "zh": "来电者在接听前挂断的电话数（不含短时放弃）。"},
    "short_abandoned": {
        "en": "Abandoned calls whose wait was shorter than web.short_abandon_s seconds "
              "(usually wrong numbers); counted apart from abandoned.",
        "zh": "等待时间短于 web.short_abandon_s 秒即挂断的电话（多为误拨），单独统计。"},
    "timeouts": {
        "en": "Offered calls that left the queue because its maximum wait passed.",
        "zh": "因超过队列最长等待时间而离开队列的电话数。"},
    "waiting": {
        "en": "Offered calls still open and not yet answered.",
        "zh": "仍在进行且尚未接听的来电数。"},
    "wait": {
        "en": "Queue wait of a call: from joining the queue (or the call's start when it "
              "never joined one) to the answer, or to the end when unanswered.",
        "zh": "排队等待时间：从进入队列（未进队列时为来电开始）到接听；未接听时到挂断。"},
    "service_level": {
        "en": "Share of calls answered within web.service_level_s seconds of joining the "
              "queue. Denominator (web.service_level_denominator): offered, answered, or "
              "offered minus short abandons; calls still waiting are left out until they end.",
        "zh": "在进入队列后 web.service_level_s 秒内接听的比例。分母由 "
              "web.service_level_denominator 设定：呼入数、接听数或呼入数减短时放弃；"
              "仍在等待的电话在结束前不计入。"},
    "asa": {
        "en": "Average speed of answer: mean queue wait of answered calls (seconds).",
        "zh": "平均应答速度：已接听电话的平均排队等待时间（秒）。"},
    "longest_wait": {
        "en": "Longest queue wait of an offered call; a call still waiting counts up to now.",
        "zh": "最长排队等待时间；仍在等待的电话计到当前时刻。"},
    "aht": {
        "en": "Average handling time: (talk time incl. hold + wrap-up) / answered calls that "
              "ended. Wrap-up is the time agents spent in the wrap-up state (agent state "
              "history); where no wrap-up state is reported it counts as 0 (talk + hold only), "
              "and so it does with a queue filter (agent states are not per queue).",
        "zh": "平均处理时长：（通话时长含保持 + 话后处理）/ 已结束的接听电话数。话后处理取坐席"
              "状态记录中的话后处理时间；未上报时或按队列筛选时按 0 计（仅通话与保持）。"},
    "talk": {
        "en": "Talk time, hold included (seconds). Of a call: from the first answer to its "
              "end. Of an agent: from its own answer to its first transfer away, or the end.",
        "zh": "通话时长（含保持，秒）。按电话：首次接听到挂断；按坐席：自己接听到其首次转出或挂断。"},
    "hold": {
        "en": "Seconds the caller was on hold (part of talk time).",
        "zh": "来电者被保持的秒数（包含在通话时长内）。"},
    "three_ring_rate": {
        "en": "Answered ring attempts answered within the three-ring rule / answered ring "
              "attempts (attempts whose rule result is unknown are left out).",
        "zh": "三声内接听率：在三声规则内接听的振铃次数 / 接听的振铃次数（规则结果未知的不计）。"},
    "ring_no_answer": {
        "en": "Ring attempts that rang out without an answer (the agent's missed rings).",
        "zh": "振铃未接次数（坐席漏接）。"},
    "violations": {
        "en": "Ring attempts that broke the three-ring rule.",
        "zh": "违反三声接听规则的振铃次数。"},
    "transfer_rate": {
        "en": "Answered calls with at least one transfer / answered calls.",
        "zh": "转接率：发生过转接的接听电话 / 接听电话。"},
    "outbound": {
        "en": "Outbound calls that started in the period, by outcome (disposition; open "
              "calls as 'open').",
        "zh": "本期间发起的呼出电话，按结果分类（尚未结束的计为进行中）。"},
    "agent_calls": {
        "en": "Calls an agent answered (each agent of a transferred call counts it once), "
              "plus the outbound calls the agent placed.",
        "zh": "坐席接听的电话数（转接电话中每位接听坐席各计一次），另计其呼出电话数。"},
    "available_time": {
        "en": "Seconds an agent was logged in and not paused: available, ringing, on call or "
              "in wrap-up (agent state history, each state until the agent's next one, clipped "
              "to the period and to now).",
        "zh": "坐席已登录且未暂停的秒数：空闲、振铃、通话或话后处理（取自坐席状态记录，"
              "每个状态持续到下一状态，按期间及当前时刻截取）。"},
    "pause_time": {
        "en": "Seconds an agent was paused, by pause reason.",
        "zh": "坐席暂停的秒数，按暂停原因分列。"},
    "occupancy": {
        "en": "(on-call + wrap-up time) / available time of the agent.",
        "zh": "占用率：（通话 + 话后处理时间）/ 可用时间。"},
    "missed_rings": {
        "en": "Ring attempts to the agent that rang out unanswered.",
        "zh": "坐席的振铃未接次数。"},
    "qa_average": {
        "en": "Mean total score of the agent's QA reviews submitted in the period (reviews "
              "with a total; shown when the QA tables exist).",
        "zh": "本期间提交的坐席质检评分的平均总分（有总分者；有质检数据表时显示）。"},
    "complaints": {
        "en": "Calls the agent answered that have a complaint note (category 'complaint' or "
              "a registered complaint; shown when the agent panel's tables exist).",
        "zh": "坐席接听且有投诉备注（类别为投诉或已登记投诉）的电话数（有坐席面板数据表时显示）。"},
    "notes_completeness": {
        "en": "Calls with notes / answered calls; for an agent, the calls it answered that "
              "have its own note.",
        "zh": "记录完整率：有通话备注的接听电话 / 接听电话；按坐席计其本人所写备注。"},
    "unknown": {
        "en": "Unknown is not zero: a wait, talk or hold time that was not observed (the "
              "daemon joined the call mid-way, or the link was down) is unknown, never 0. "
              "Such calls still count as offered and answered (a call answered at an unknown "
              "time is answered) but are left out of the sums and averages of that time and "
              "counted apart: unknown wait leaves ASA, longest wait and the service level "
              "(neither within nor outside: it leaves the denominator, offered or answered); "
              "unknown talk leaves talk time and AHT; unknown hold leaves hold time.",
        "zh": "未知不等于零：未观察到的等待、通话或保持时间（守护进程中途接入或连接中断）记为"
              "未知，绝不记为 0。这些电话仍计入呼入数和接听数（接听时间未知的电话算已接听），"
              "但不计入该时间的合计与平均，另行计数：等待未知不计入平均应答速度、最长等待和服务"
              "水平（既不算达标也不算未达标，从分母中除去）；通话未知不计入通话时长和平均处理"
              "时长；保持未知不计入保持时长。"},
}


LEFT_OUT = {
    "wait": "%(n)s call(s) with unknown wait time left out of ASA, service level and longest wait",
    "talk": "%(n)s call(s) with unknown talk time left out of talk time and AHT",
    "hold": "%(n)s call(s) with unknown hold time left out of hold time",
}
"""How the reports and the wallboard say which calls a figure leaves out, by unknown part
(English msgids, translated in the web catalogues; ``n``: the number of calls)."""


@dataclass(frozen=True)
class ServiceLevelRules:
    """The thresholds the service-level KPIs depend on (section ``web`` of the settings)."""

    service_level_s: float = 20.0
    denominator: Denominator = "offered_minus_short"
    short_abandon_s: float = 5.0

    @classmethod
    def from_settings(cls, settings: Any) -> ServiceLevelRules:
        """Read ``web.service_level_s``, ``web.service_level_denominator``, ``web.short_abandon_s``."""
        web = settings.web
        return cls(web.service_level_s, web.service_level_denominator, web.short_abandon_s)


def local_midnight(day: date, tz: str) -> datetime:
    """Midnight starting ``day`` in ``tz``, as a UTC datetime (figures are bucketed by the
    centre's local days)."""
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def ratio(num: float, den: float) -> float | None:
    """``num / den``, or None when the denominator is 0."""
    return num / den if den else None


@dataclass
class _Additive:
    """Counts and sums that combine by addition (``max`` for ``*_max`` fields)."""

    def __add__(self, other: Self) -> Self:
        out = type(self)()
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if f.name.endswith("_max"):
                value: Any = max(a, b)
            elif isinstance(a, dict):
                value = {k: a.get(k, 0) + b.get(k, 0) for k in a.keys() | b.keys()}
            else:
                value = a + b
            setattr(out, f.name, value)
        return out

    def as_dict(self) -> dict[str, Any]:
        """The raw sums, by field name."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class _RingFigures(_Additive):
    """Ring attempts: answered (with a known rule result), within the rule, rung out."""

    ring_answered: int = 0
    ring_answered_within: int = 0
    ring_no_answer: int = 0
    violations: int = 0

    @property
    def three_ring_rate(self) -> float | None:
        """Answered ring attempts within the rule / answered ring attempts (0..1)."""
        return ratio(self.ring_answered_within, self.ring_answered)


@dataclass
class CallFigures(_RingFigures):
    """Additive figures of a set of calls; the ratios are properties.

    A time that was not observed (``CallRecord.unknown``) is never a figure:
    ``wait_unknown`` counts the calls (answered or ended) whose wait is not
    known, ``answered_wait_unknown`` the answered ones among them;
    ``talk_unknown`` / ``hold_unknown`` the answered calls that ended whose
    talk / hold is not known. Those calls are left out of the sums and of the
    denominators of the averages and of the service level.
    """

    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    timeouts: int = 0
    waiting: int = 0
    answered_in_sl: int = 0
    answer_wait_s: float = 0.0
    wait_s_max: float = 0.0
    handled: int = 0
    talk_s: float = 0.0
    hold_s: float = 0.0
    transferred: int = 0
    wait_unknown: int = 0
    answered_wait_unknown: int = 0
    talk_unknown: int = 0
    hold_unknown: int = 0
    outbound: dict[str, int] = field(default_factory=dict)

    def service_level(self, denominator: Denominator) -> float | None:
        """Answered within the threshold / the chosen denominator (0..1, None if empty).

        Calls whose wait is unknown are neither within nor outside: they leave the
        denominator (offered, or offered minus short: ``wait_unknown``; answered:
        ``answered_wait_unknown``).
        """
        decided = self.offered - self.waiting - self.wait_unknown
        den = {"offered": decided, "answered": self.answered - self.answered_wait_unknown,
               "offered_minus_short": decided - self.short_abandoned}[denominator]
        return ratio(self.answered_in_sl, den)

    @property
    def asa_s(self) -> float | None:
        """Average speed of answer (seconds), over the answered calls with a known wait."""
        return ratio(self.answer_wait_s, self.answered - self.answered_wait_unknown)

    def aht_s(self, wrap_up_s: float = 0.0) -> float | None:
        """Average handling time (seconds): (talk incl. hold + ``wrap_up_s``) / handled
        (answered calls that ended with a known talk time)."""
        return ratio(self.talk_s + wrap_up_s, self.handled)

    @property
    def hold_avg_s(self) -> float | None:
        """Mean hold (seconds) of the answered calls that ended with a known hold."""
        return ratio(self.hold_s, self.handled + self.talk_unknown - self.hold_unknown)

    @property
    def transfer_rate(self) -> float | None:
        """Answered calls with a transfer / answered calls (0..1)."""
        return ratio(self.transferred, self.answered)


def wait_unknown(call: CallRecord) -> bool:
    """True when the call's queue wait was not observed (or its answer time)."""
    return "wait" in call.unknown or (call.answered and call.answered_at is None)


def talk_unknown(call: CallRecord) -> bool:
    """True when the call's talk (answer to end) was not observed: the answer time or
    the end is unknown."""
    return call.answered_at is None or "talk" in call.unknown or "end" in call.unknown


def hold_unknown(call: CallRecord) -> bool:
    """True when the call's hold time was not observed."""
    return call.hold_s is None or "hold" in call.unknown


def queue_wait_s(call: CallRecord, now: datetime) -> float | None:
    """Seconds from joining the queue (else the start) to the answer, the end, or ``now``;
    None when the wait is unknown."""
    if wait_unknown(call):
        return None
    start = call.queue_joined_at or call.started_at
    end = call.answered_at or call.ended_at or now
    return max(0.0, (end - start).total_seconds())


def call_figures(calls: Iterable[CallRecord], ms: ServiceLevelRules, now: datetime) -> CallFigures:
    """The figures of ``calls`` (inbound and outbound; internal calls are ignored)."""
    out = CallFigures()
    for c in calls:
        if c.direction == "outbound":
            key = c.disposition or "open"
            out.outbound[key] = out.outbound.get(key, 0) + 1
            continue
        if c.direction != "inbound":
            continue
        wait = queue_wait_s(c, now)
        out.offered += 1
        if wait is not None:
            out.wait_s_max = max(out.wait_s_max, wait)
        _rings(out, c)
        if c.answered:
            out.answered += 1
            out.transferred += bool(c.transfers)
            if wait is None:
                out.wait_unknown += 1
                out.answered_wait_unknown += 1
            else:
                out.answer_wait_s += wait
                out.answered_in_sl += wait <= ms.service_level_s
            if c.ended_at is not None:
                _talk(out, c)
        elif c.ended_at is None:
            out.waiting += 1
        else:
            out.wait_unknown += wait is None
            if c.disposition == "abandoned":
                short = wait is not None and wait < ms.short_abandon_s
                out.short_abandoned += short
                out.abandoned += not short
            elif c.disposition == "timeout":
                out.timeouts += 1
    return out


def _talk(out: CallFigures, c: CallRecord) -> None:
    """Add the talk and hold of an answered call that ended."""
    if talk_unknown(c):
        out.talk_unknown += 1
    else:
        out.handled += 1
        out.talk_s += (c.ended_at - c.answered_at).total_seconds()  # type: ignore[operator]
    if hold_unknown(c):
        out.hold_unknown += 1
    else:
        out.hold_s += c.hold_s or 0.0


def _rings(out: _RingFigures, call: CallRecord, agent: str | None = None) -> None:
    for a in call.ring_attempts:
        if agent is not None and a.agent != agent:
            continue
        if a.outcome == "answered" and a.within_rule is not None:
            out.ring_answered += 1
            out.ring_answered_within += a.within_rule
        out.ring_no_answer += a.outcome == "no_answer"
    out.violations += sum(agent is None or v.agent == agent for v in call.violations)


@dataclass
class AgentFigures(_RingFigures):
    """Additive figures of one agent: calls and, from the state history, time.

    ``talk_unknown`` counts the calls (answered, or placed and answered) whose
    talk time for this agent was not observed: left out of ``talk_s`` and of AHT.
    """

    answered: int = 0
    outbound: int = 0
    talk_s: float = 0.0
    outbound_talk_s: float = 0.0
    available_s: float = 0.0
    on_call_s: float = 0.0
    wrap_up_s: float = 0.0
    talk_unknown: int = 0
    outbound_talk_unknown: int = 0
    paused_s: dict[str, float] = field(default_factory=dict)

    @property
    def occupancy(self) -> float | None:
        """(on-call + wrap-up) / available time (0..1)."""
        return ratio(self.on_call_s + self.wrap_up_s, self.available_s)

    @property
    def aht_s(self) -> float | None:
        """The agent's (talk + wrap-up) / answered calls with a known talk (seconds)."""
        return ratio(self.talk_s + self.wrap_up_s, self.answered - self.talk_unknown)


def agent_talk(call: CallRecord) -> dict[str, float | None]:
    """Talk seconds of each agent who answered ``call`` (an ended call); None when unknown.

    An agent's part runs from its ring attempt's answer to its first transfer
    away after that (or the call's end). It is unknown when the answer time was
    not observed, or when the call's end was not and the agent stayed to it.
    """
    out: dict[str, float | None] = {}
    if call.ended_at is None:
        return out
    end_unknown = "end" in call.unknown
    for a in call.ring_attempts:
        if a.outcome != "answered":
            continue
        start = a.ended_at
        ends = [t.at for t in call.transfers
                if t.from_agent == a.agent and start is not None and t.at >= start]
        if start is None or (end_unknown and not ends):
            out[a.agent] = None
            continue
        end = min([*ends, call.ended_at])
        talk = max(0.0, (end - start).total_seconds())
        known = out.get(a.agent, 0.0)
        out[a.agent] = None if a.agent in out and known is None else (known or 0.0) + talk
    return out


def outbound_talk(call: CallRecord) -> float | None:
    """Talk seconds of an outbound call that ended (0 when not answered); None when unknown."""
    if not call.answered:
        return 0.0
    return None if talk_unknown(call) else seconds_between(call.answered_at, call.ended_at)


def agent_call_figures(calls: Iterable[CallRecord]) -> dict[str, AgentFigures]:
    """Per agent: answered calls, outbound calls, talk time, rings, violations."""
    out: dict[str, AgentFigures] = {}
    for c in calls:
        if c.direction == "outbound":
            if c.agent:
                fig = out.setdefault(c.agent, AgentFigures())
                fig.outbound += 1
                talk = outbound_talk(c) if c.ended_at is not None else 0.0
                fig.outbound_talk_s += talk or 0.0
                fig.outbound_talk_unknown += talk is None
            continue
        if c.direction != "inbound":
            continue
        agents = {a.agent for a in c.ring_attempts} | {v.agent for v in c.violations}
        answering = {a.agent for a in c.ring_attempts if a.outcome == "answered"}
        talks = agent_talk(c)
        for agent in agents:
            fig = out.setdefault(agent, AgentFigures())
            fig.answered += agent in answering
            part = talks.get(agent, 0.0)
            fig.talk_s += part or 0.0
            fig.talk_unknown += part is None
            _rings(fig, c, agent)
    return out


Activity = Literal["offline", "paused", "available", "ringing", "on_call", "wrap_up"]


def _order(f: AgentStateChanged) -> tuple[datetime, str, str, bool]:
    return (f.at, f.queue or "", f.state, f.paused)


def activity(fact: AgentStateChanged) -> Activity:
    """What an agent is doing from one state fact: offline, paused, or the state."""
    if not fact.in_queue or fact.state in ("logged_out", "unavailable"):
        return "offline"
    if fact.paused:
        return "paused"
    return fact.state  # type: ignore[return-value]


def agent_time_figures(history: Iterable[AgentStateChanged], start: datetime, end: datetime,
                       before: Mapping[str, AgentStateChanged] | None = None
                       ) -> dict[str, AgentFigures]:
    """Per agent, seconds available / on call / wrap-up / paused by reason in [start, end).

    ``history`` is the agent state facts in the period; ``before`` the last
    fact of each agent before ``start`` (its state when the period opens). An
    agent's state holds until its next fact (any queue; facts of one instant
    in the order of ``_order``) or ``end``; paused time is keyed by the reason
    ('' when none was given).
    """
    series: dict[str, list[AgentStateChanged]] = {}
    for f in sorted(history, key=_order):
        series.setdefault(f.agent, []).append(f)
    for agent, f in (before or {}).items():
        series.setdefault(agent, []).insert(0, f)
    out: dict[str, AgentFigures] = {}
    for agent, facts in series.items():
        fig = out.setdefault(agent, AgentFigures())
        for f, nxt in zip(facts, [*facts[1:], None], strict=True):
            lo = max(f.at, start)
            hi = min(nxt.at if nxt else end, end)
            secs = (hi - lo).total_seconds()
            if secs > 0:
                add_time(fig, activity(f), f.reason or "", secs)
    return out


def add_time(fig: AgentFigures, act: str, reason: str, secs: float) -> None:
    """Add ``secs`` seconds of activity ``act`` (see :func:`activity`) to ``fig``."""
    if act == "paused":
        fig.paused_s[reason] = fig.paused_s.get(reason, 0.0) + secs
    elif act != "offline":
        fig.available_s += secs
        if act == "on_call":
            fig.on_call_s += secs
        elif act == "wrap_up":
            fig.wrap_up_s += secs


@dataclass(frozen=True)
class NotedCall:
    """A call an agent noted, as the note figures count it (the note itself is
    ``store.notes.CallNote``); ``complaint`` when it records a complaint."""

    server: str
    linkedid: str
    agent: str
    complaint: bool


@dataclass
class NoteFigures(_Additive):
    """Answered calls, those with a note, those with a complaint note."""

    answered: int = 0
    noted: int = 0
    complaints: int = 0

    @property
    def notes_completeness(self) -> float | None:
        """Answered calls with notes / answered calls (0..1)."""
        return ratio(self.noted, self.answered)


CENTRE = ""
"""The key of the whole centre in :func:`note_figures`."""


def note_figures(calls: Iterable[CallRecord], notes: Iterable[NotedCall]
                 ) -> dict[str, NoteFigures]:
    """NoteFigures of the centre (key ``CENTRE``) and of each agent who answered.

    The centre counts answered inbound calls with any note / a complaint note;
    an agent counts the calls it answered with its own note, and those with
    a complaint note by anyone.
    """
    by_call: dict[tuple[str, str], list[NotedCall]] = {}
    for n in notes:
        by_call.setdefault((n.server, n.linkedid), []).append(n)
    out: dict[str, NoteFigures] = {CENTRE: NoteFigures()}
    for c in calls:
        if c.direction != "inbound" or not c.answered:
            continue
        on_call = by_call.get((c.server, c.linkedid), [])
        complaint = any(n.complaint for n in on_call)
        out[CENTRE] += NoteFigures(1, bool(on_call), complaint)
        for agent in {a.agent for a in c.ring_attempts if a.outcome == "answered"}:
            mine = any(n.agent == agent for n in on_call)
            out[agent] = out.get(agent, NoteFigures()) + NoteFigures(1, mine, complaint)
    return out
