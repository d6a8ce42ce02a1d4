"""``callcenter sim`` (the simulated PBX) and ``callcenter replay-server`` (a capture)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from callcenter.sim.replay import CaptureError, ReplayServer
from callcenter.sim.scenario import run_random
from callcenter.sim.server import PBXSimulator


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``sim`` and ``replay-server`` sub-commands."""
    p = sub.add_parser("sim", help="run the simulated Asterisk PBX (AMI over TCP)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5038)
    p.add_argument("--speed", type=float, default=1.0, help="simulated seconds per wall second")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--recordings", help="directory for the WAV recordings")
    p.add_argument("--username", default="callcenter")
    p.add_argument("--secret", default="secret")
    p.add_argument("--calls-per-hour", type=float, default=60.0,
                   help="random inbound arrivals per simulated hour (0: none)")
    p.add_argument("--agents", type=int, default=3, help="number of agents (agent1001..)")
    p.add_argument("--survey-queues", default="support", metavar="Q1,Q2",
                   help="queues running the post-call survey, as dialplan/ ships them "
                        "(default: support; empty: none)")
    p.add_argument("--survey-answer", type=float, default=0.6, metavar="P",
                   help="share of surveyed callers pressing 1-5 (default 0.6)")
    p.add_argument("--survey-hangup", type=float, default=0.15, metavar="P",
                   help="share of surveyed callers hanging up during the prompt (default "
                        "0.15; the rest press nothing)")
    p.set_defaults(handler=run_sim)
    r = sub.add_parser("replay-server", help="serve a recorded AMI capture (.jsonl) over TCP")
    r.add_argument("file")
    r.add_argument("--host", default="127.0.0.1")
    r.add_argument("--port", type=int, default=5038)
    r.add_argument("--fast", action="store_true", help="as fast as possible (no pacing)")
    r.set_defaults(handler=run_replay)


async def run_sim(args: argparse.Namespace) -> int:
    """Run the simulator until interrupted."""
    from callcenter.sim.model import SimConfig, SurveyConfig

    if args.speed <= 0 or args.agents < 1 or args.calls_per_hour < 0:
        print("callcenter sim: --speed and --agents must be > 0, --calls-per-hour >= 0",
              file=sys.stderr)
        return 2
    answer, hang_up = args.survey_answer, args.survey_hangup
    if not (0 <= answer <= 1 and 0 <= hang_up <= 1 and answer + hang_up <= 1):
        print("callcenter sim: --survey-answer and --survey-hangup are shares from 0 to 1 "
              "adding up to at most 1", file=sys.stderr)
        return 2
    config = SimConfig.default(args.agents)
    config.survey = SurveyConfig(
        frozenset(q.strip() for q in args.survey_queues.split(",") if q.strip()),
        answer_p=answer, hang_up_p=hang_up)
    sim = PBXSimulator(args.host, args.port, seed=args.seed, speed=args.speed,
                       recordings_dir=args.recordings, username=args.username,
                       secret=args.secret, config=config)
    try:
        await sim.start()
    except OSError as exc:
        print(f"callcenter sim: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    print(f"simulated PBX on {args.host}:{sim.port} (speed {args.speed}x, seed {args.seed})",
          flush=True)
    try:
        if args.calls_per_hour > 0:
            await run_random(sim, args.calls_per_hour)
        else:
            await asyncio.Event().wait()
    finally:
        await sim.stop()
    return 0


async def run_replay(args: argparse.Namespace) -> int:
    """Serve the capture until interrupted."""
    try:
        server = ReplayServer(args.file, args.host, args.port, fast=args.fast)
        await server.start()
    except CaptureError as exc:
        print(f"callcenter replay-server: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"callcenter replay-server: cannot listen: {exc}", file=sys.stderr)
        return 1
    print(f"replaying {args.file} on {args.host}:{server.port}", flush=True)
    try:
        await server.serve_forever()
    finally:
        await server.stop()
    return 0
