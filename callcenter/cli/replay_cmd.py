"""``callcenter replay TRACE.jsonl``: ingest a capture as if live, at full speed."""

from __future__ import annotations

import argparse
import sys
import time

from callcenter.cli.common import add_dsn_argument
from callcenter.cli.run_cmd import guarded, open_cli_store
from callcenter.ingest.daemon import CallLogger, make_tracker
from callcenter.ingest.pipeline_replay import capture_server_name, ingest_items, read_capture
from callcenter.store.consumer import StoreConsumer
from callcenter.store.writer import StoreWriter


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("replay", help="ingest an AMI capture (JSON lines) as if live")
    p.add_argument("trace", help="capture file in the ami-traces format")
    p.add_argument("--server", help="server name (default: the capture's SystemName)")
    add_dsn_argument(p)
    p.set_defaults(handler=run)


class _Progress:
    """A progress line on stderr, redrawn at most every 0.2 s."""

    def __init__(self) -> None:
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last < 0.2 and done < total:
            return
        self.last = now
        end = "\n" if done == total else ""
        print(f"\rreplaying: {done}/{total} entries ({100 * done // max(total, 1)}%)",
              end=end, file=sys.stderr, flush=True)


@guarded
async def run(args: argparse.Namespace) -> int:
    items = list(read_capture(args.trace))
    server = args.server or capture_server_name(items)
    settings, pool = await open_cli_store(args)
    writer = StoreWriter(pool, settings.database.spool_dir)
    await writer.start()
    store = StoreConsumer(writer)
    try:
        await ingest_items(items, server, make_tracker(server, settings), writer,
                           [store, CallLogger()], batch_size=settings.database.batch_size,
                           progress=_Progress())
    finally:
        await writer.close()
        await pool.close()
    print(f"replayed {len(items)} entries from {args.trace} as server {server}: "
          f"{store.calls_written} call update(s) stored")
    return 0
