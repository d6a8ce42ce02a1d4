"""Random call-centre traffic for the demo: seeded arrivals and a mix of outcomes."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from callcenter.sim.model import AgentScript

if TYPE_CHECKING:
    from callcenter.sim.server import PBXSimulator

def random_script(rng: random.Random) -> AgentScript:
    """One agent's behaviour for one call: answer (mostly), ring-no-answer, hold, transfers."""
    if rng.random() < 0.25:
        return AgentScript(answer_after=None)
    script = AgentScript(answer_after=rng.uniform(1.5, 12.0), talk=rng.uniform(20, 300),
                         hangup_by=rng.choice(["agent", "caller"]))
    roll = rng.random()
    if roll < 0.10:
        script.hold = (rng.uniform(5, script.talk / 2), rng.uniform(5, 40))
    elif roll < 0.15:
        script.blind_transfer_to = ""  # filled in with another agent by the caller
    elif roll < 0.18:
        script.attended_transfer_to = ""
    return script


async def run_random(sim: PBXSimulator, calls_per_hour: float, *, duration: float | None = None,
                     seed: int | None = None) -> int:
    """Start random calls (Poisson arrivals, simulated time) until ``duration`` s or cancelled.

    The mix: inbound calls to every DID (answered, ring-no-answer roll-over,
    abandons after a random patience, queue timeouts when nobody is free),
    holds, blind and attended transfers, direct dials, agents' outbound calls
    (answered, busy, no answer) and agents pausing for breaks. Returns the
    number of calls started.
    """
    rng = random.Random(sim.pbx.rng.random() if seed is None else seed)
    sim.scheduled = True  # logical time only: the same run whatever the machine's load
    try:
        return await _schedule(sim, rng, calls_per_hour, duration)
    finally:
        sim.scheduled = False


async def _schedule(sim: PBXSimulator, rng: random.Random, calls_per_hour: float,
                    duration: float | None) -> int:
    agents = [a.config.endpoint for a in sim.pbx.agents.values()]
    dids = list(sim.pbx.config.dids)
    clock = sim.pbx.clock
    start, started, t = clock.event_time(), 0, 0.0  # t: the schedule, in logical time
    next_break = rng.expovariate(1 / 600)
    while True:
        t += rng.expovariate(calls_per_hour / 3600.0)
        if duration is not None and t >= duration:
            return started
        await sim.advance(t - (clock.event_time() - start))
        if t >= next_break:
            next_break += rng.expovariate(1 / 600)
            _take_break(sim, rng, agents)
        started += 1
        caller = f"+3222{rng.randrange(10**6):06d}"
        kind = rng.random()
        if kind < 0.10:
            agent = rng.choice(agents)
            outcome = rng.choices(["answer", "busy", "no_answer"], [70, 15, 15])[0]
            number, ring, talk = f"900{rng.randrange(10**9):09d}", rng.uniform(2, 25), rng.uniform(20, 240)
            if sim.pbx.agents[f"PJSIP/{agent}"].status == 1:  # draws never depend on the state
                await sim.outbound_call(agent, number, outcome=outcome, ring=ring, talk=talk)
            continue
        scripts = {}
        for a in agents:
            s = random_script(rng)
            others = [o for o in agents if o != a]
            if s.blind_transfer_to == "":
                s.blind_transfer_to = rng.choice(others)[5:] if others else None
            if s.attended_transfer_to == "":
                s.attended_transfer_to = rng.choice(others)[5:] if others else None
            scripts[a] = s
        dest = rng.choice(agents)[5:] if kind < 0.15 else rng.choice(dids)
        await sim.inbound_call(caller, dest, agents=scripts, patience=rng.uniform(15, 180))


def _take_break(sim: PBXSimulator, rng: random.Random, agents: list[str]) -> None:
    """An agent pauses for a break, or logs out of the dynamic queues for a while."""
    agent = rng.choice(agents)
    away = rng.uniform(120, 600)
    if rng.random() < 0.7:
        sim.agent_pause(agent, True, "Break")
        sim.pbx.clock.call_later(away, sim.agent_pause, agent, False, "")
        return
    for q in sim.pbx.config.queues:
        if q.dynamic and sim.agent_logout(agent, q.name) is None:
            sim.pbx.clock.call_later(away, sim.agent_login, agent, q.name)
