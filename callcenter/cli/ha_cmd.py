"""``callcenter ha status``: which instance serves which PBX (active/standby)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from callcenter.cli.common import add_dsn_argument
from callcenter.cli.run_cmd import guarded, open_cli_store
from callcenter.ha.leases import LEASE_SHARE
from callcenter.store.leases import LeaseRepository


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("ha", help="active/standby: which instance serves which PBX")
    p.add_argument("action", choices=["status"], help="status: the leases and the instances")
    add_dsn_argument(p)
    p.set_defaults(handler=run)


@guarded
async def run(args: argparse.Namespace) -> int:
    settings, pool = await open_cli_store(args)
    try:
        repo = LeaseRepository(pool)
        leases = {lease.server: lease for lease in await repo.leases()}
        live = set(await repo.live_instances(settings.ha.takeover_s * LEASE_SHARE))
    finally:
        await pool.close()
    now = datetime.now(UTC)
    names = sorted({s.name for s in settings.servers} | set(leases))
    for name in names:
        lease = leases.get(name)
        if lease is None:
            print(f"{name}: no lease (no instance serves it)")
            continue
        state = "serving" if lease.expires_at > now and lease.owner in live else "EXPIRED"
        print(f"{name}: {lease.owner} (epoch {lease.epoch}, {state}, renewed "
              f"{(now - lease.renewed_at).total_seconds():.1f} s ago)")
    print(f"live instances: {', '.join(sorted(live)) or 'none'}")
    return 0
