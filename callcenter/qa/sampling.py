"""Which recorded calls QA reviews, and who reviews them: pure functions, no I/O.

A week's sample is every candidate matching a rule (ring-no-answer, a complaint
note, a long hold, a very long talk) plus ``per_agent`` random calls per agent.
The random draw depends only on the seed, the week, the agent and the agent's
candidates, so the same data gives the same sample; calls sampled before are
never drawn again.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from callcenter.store.qa import Candidate, QaRepository, Sample

if TYPE_CHECKING:
    from callcenter.settings import Settings

RULES = ("ring_no_answer", "complaint", "long_hold", "long_talk")
_WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")


class SamplingError(ValueError):
    """Bad sampling input (a week, an inspector list); the message says which."""


@dataclass(frozen=True)
class Rules:
    """The sampling rules (``QaSettings``): which always-sample rules are on, and limits."""

    per_agent: int = 2
    rules: tuple[str, ...] = RULES
    long_hold_s: float = 60.0
    long_talk_s: float = 900.0
    seed: int = 0


def week_bounds(week: str, tz: str) -> tuple[datetime, datetime]:
    """UTC start (inclusive) and end (exclusive) of ISO ``week`` ('2026-W48') in zone ``tz``."""
    m = _WEEK_RE.match(week.strip())
    if not m:
        raise SamplingError(f"bad week {week!r}: use YYYY-Www, e.g. 2026-W48")
    try:
        monday = datetime.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
    except ValueError:
        raise SamplingError(f"bad week {week!r}: {m.group(1)} has no week {m.group(2)}") from None
    zone = ZoneInfo(tz)
    start = monday.replace(tzinfo=zone)
    end = (monday + timedelta(days=7)).replace(tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def week_of(at: datetime, tz: str) -> str:
    """The ISO week ('2026-W48') of the instant ``at`` in zone ``tz``."""
    year, week, _ = at.astimezone(ZoneInfo(tz)).isocalendar()
    return f"{year}-W{week:02d}"


def rule_reasons(c: Candidate, rules: Rules) -> tuple[str, ...]:
    """The always-sample rules ``c`` matches, in :data:`RULES` order."""
    hits = {
        "ring_no_answer": c.ring_no_answer,
        "complaint": c.complaint,
        "long_hold": c.hold_s is not None and c.hold_s > 0 and c.hold_s >= rules.long_hold_s,
        "long_talk": c.talk_s is not None and c.talk_s >= rules.long_talk_s,
    }
    return tuple(r for r in RULES if r in rules.rules and hits[r])


def rules_from_settings(settings: Settings, seed: int | None = None) -> Rules:
    """The sampling rules of ``settings.qa`` (``seed`` overrides the configured one)."""
    qa = settings.qa
    return Rules(qa.random_per_agent_per_week, tuple(qa.sample_rules), qa.long_hold_s,
                 qa.long_talk_s, qa.seed if seed is None else seed)


def select(candidates: Iterable[Candidate], rules: Rules, week: str, *,
           sampled: Iterable[tuple[str, str]] = (),
           random_taken: Mapping[str, int] | None = None) -> list[Sample]:
    """The new samples of ``week``: rule matches, then random calls per agent.

    ``sampled`` are calls sampled before (never again); ``random_taken`` counts the
    random samples each agent already has this week (the draw tops up to
    ``rules.per_agent``). Output is ordered by agent, then call start.
    """
    done = set(sampled)
    taken = random_taken or {}
    by_agent: dict[str, list[Candidate]] = {}
    for c in sorted(candidates, key=lambda c: (c.agent, c.started_at, c.server, c.linkedid)):
        if c.key not in done:
            by_agent.setdefault(c.agent, []).append(c)
    out: list[Sample] = []
    for agent, calls in sorted(by_agent.items()):
        picked: dict[tuple[str, str], tuple[str, ...]] = {}
        pool: list[Candidate] = []
        for c in calls:
            reasons = rule_reasons(c, rules)
            if reasons:
                picked[c.key] = reasons
            else:
                pool.append(c)
        want = max(0, rules.per_agent - taken.get(agent, 0))
        rng = random.Random(f"{rules.seed}:{week}:{agent}")
        for c in rng.sample(pool, min(want, len(pool))):
            picked[c.key] = ("random",)
        out += [Sample(c.server, c.linkedid, agent, picked[c.key]) for c in calls
                if c.key in picked]
    return out


def assign(samples: Sequence[Sample], inspectors: Sequence[str], *,
           load: Mapping[str, int] | None = None,
           teams: Mapping[str, Sequence[str]] | None = None) -> list[tuple[Sample, str]]:
    """An inspector for each sample: the least loaded (``load``: open work), ties in list order.

    With ``teams`` (inspector → agents), a sample goes to the inspectors of its
    agent's team; an agent in no team goes to any inspector.
    """
    if not inspectors:
        raise SamplingError("no inspectors to assign to: set qa.inspectors, give --inspectors "
                            "or add a web user of role qa")
    if len(set(inspectors)) != len(inspectors):
        raise SamplingError("an inspector is listed twice")
    counts = {i: (load or {}).get(i, 0) for i in inspectors}
    team_of: dict[str, list[str]] = {}
    for inspector, agents in (teams or {}).items():
        if inspector in counts:
            for agent in agents:
                team_of.setdefault(agent, []).append(inspector)
    out = []
    for s in samples:
        eligible = team_of.get(s.agent) or list(inspectors)
        chosen = min(eligible, key=lambda i: (counts[i], inspectors.index(i)))
        counts[chosen] += 1
        out.append((s, chosen))
    return out


@dataclass(frozen=True)
class SampleRun:
    """What one sampling run of a week did."""

    week: str
    candidates: int
    new: list[Sample]
    stored: int
    complaint_rule: bool
    """False when the complaint rule was on but no ``call_notes`` table exists (skipped)."""


async def sample_week(repo: QaRepository, settings: Settings, week: str, *,
                      seed: int | None = None, dry_run: bool = False) -> SampleRun:
    """Sample ``week`` (in the centre's time zone) and store the new samples unless ``dry_run``."""
    rules = rules_from_settings(settings, seed)
    start, end = week_bounds(week, settings.web.timezone)
    candidates, notes = await repo.candidates(start, end)
    sampled = await repo.sampled_keys([c.key for c in candidates])
    new = select(candidates, rules, week, sampled=sampled,
                 random_taken=await repo.random_taken(week))
    stored = 0 if dry_run else await repo.add_samples(new, week, rules.seed)
    return SampleRun(week, len(candidates), new, stored,
                     notes or "complaint" not in rules.rules)


def inspector_agents(settings: Settings) -> dict[str, list[str]]:
    """Inspector → the agents of the teams they review (``qa.teams``, ``qa.team_inspectors``)."""
    out: dict[str, list[str]] = {}
    for team, inspectors in settings.qa.team_inspectors.items():
        for inspector in inspectors:
            out.setdefault(inspector, []).extend(settings.qa.teams.get(team, []))
    return out


async def assign_week(repo: QaRepository, settings: Settings, week: str | None, *,
                      inspectors: Sequence[str] | None = None, by: str | None = None,
                      calibration: int = 0) -> tuple[list[tuple[Sample, str]], int]:
    """Assign the unassigned samples of ``week`` (all weeks when None); returns the pairs
    and the number of calibration assignments added. Inspectors: ``inspectors``, else
    ``qa.inspectors``, else every enabled web user of role qa.

    ``calibration`` > 0 also gives that many of the week's samples (the oldest calls)
    to every inspector, so that their scores can be compared.
    """
    names = list(inspectors if inspectors is not None
                 else settings.qa.inspectors or await repo.qa_users())
    mode = by or settings.qa.assign_by
    todo = await repo.samples(week, unassigned=True)
    pairs = assign(todo, names, load=await repo.open_load(),
                   teams=inspector_agents(settings) if mode == "team" else None)
    await repo.add_assignments(pairs)
    added = 0
    if calibration > 0:
        common = (await repo.samples(week))[:calibration]
        added = await repo.add_assignments([(s, i) for s in common for i in names],
                                           calibration=True)
    return pairs, added
