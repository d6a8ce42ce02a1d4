"""Loading a capture's ``.cel.csv`` into the ``cel`` table, as cel_pgsql would have."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import asyncpg

from callcenter.ingest.cel.rows import CelRow

COLUMNS = ("eventtype", "eventtime", "userdeftype", "cid_name", "cid_num", "cid_ani",
           "cid_rdnis", "cid_dnid", "exten", "context", "channame", "appname", "appdata",
           "amaflags", "accountcode", "peeraccount", "uniqueid", "linkedid", "userfield",
           "peer", "extra")


async def load_cel_csv(pool: asyncpg.Pool, path: Path, table: str = "cel") -> int:
    """Insert the rows of ``path`` into ``table``; how many."""
    with path.open(encoding="utf-8", newline="") as fh:
        lines = list(csv.DictReader(fh))
    rows = [tuple(datetime.fromisoformat(line[c]) if c == "eventtime"
                  else int(line[c] or 0) if c == "amaflags" else line[c] for c in COLUMNS)
            for line in lines]
    marks = ", ".join(f"${i}" for i in range(1, len(COLUMNS) + 1))
    await pool.executemany(
        f'INSERT INTO "{table}" ({", ".join(COLUMNS)}) VALUES ({marks})', rows)
    return len(rows)


def active_at(rows: list[CelRow], at: datetime) -> list[str]:
    """The linkedids Asterisk still had at ``at`` (what CoreShowChannels would tell)."""
    started = {r.linkedid for r in rows if r.eventtime <= at}
    ended = {r.linkedid for r in rows if r.eventtime <= at and r.eventtype == "LINKEDID_END"}
    return sorted(started - ended)
