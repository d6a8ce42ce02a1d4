"""The CEL table(s) in the database: present, with the columns cel_pgsql fills and the
daemon reads (cel_pgsql reads them once, when it loads)."""

from __future__ import annotations

import asyncpg

from callcenter.asterisk_conf import ConfFile
from callcenter.deploy.cel_checks import DEFAULT_TABLE, first
from callcenter.deploy.findings import Finding
from callcenter.store.cel import table_columns

CEL_COLUMNS = ("id", "eventtype", "eventtime", "userdeftype", "cid_name", "cid_num", "cid_ani",
               "cid_rdnis", "cid_dnid", "exten", "context", "channame", "appname", "appdata",
               "amaflags", "accountcode", "peeraccount", "uniqueid", "linkedid", "userfield",
               "peer", "extra")
"""Migration 013's ``cel`` table, cel_pgsql's documented one."""
EVENTTIME_TYPE = "timestamp without time zone"
CONNECT_TIMEOUT_S = 5.0
RELOAD = ("then 'module unload cel_pgsql.so' and 'module load cel_pgsql.so' on the PBX "
          "(it reads the columns when it loads)")


async def check_cel_tables(dsn: str, tables: list[str], pgsql: ConfFile | None
                           ) -> list[Finding]:
    """Findings for each of ``tables`` in the database at ``dsn``, reported at the
    ``table`` line of cel_pgsql.conf; a warning when the database cannot be reached."""
    section = pgsql.first("global") if pgsql else None
    setting = first(section, "table") if section else None
    line = setting.line if setting else 1
    try:
        conn = await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT_S)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        return [Finding("cel_pgsql.conf", line, f"cannot check the CEL table(s) "
                        f"{', '.join(tables)} in the database: {exc or type(exc).__name__}",
                        warning=True)]
    try:
        found = {t: await table_columns(conn, t) for t in tables}
    finally:
        await conn.close()
    return [f for table, columns in found.items()
            for f in _table_findings(table, columns, line)]


def _table_findings(table: str, columns: dict[str, str], line: int) -> list[Finding]:
    if not columns:
        create = ("callcenter migrate creates it" if table == DEFAULT_TABLE else
                  f"CREATE TABLE {table} (LIKE {DEFAULT_TABLE} INCLUDING ALL)")
        return [Finding("cel_pgsql.conf", line, f"table {table} does not exist in the "
                        f"database: Asterisk writes no CEL ({create}; {RELOAD})")]
    out = []
    missing = [c for c in CEL_COLUMNS if c not in columns]
    if missing:
        out.append(Finding("cel_pgsql.conf", line, f"table {table} lacks the column(s) "
                           f"{', '.join(missing)} ({RELOAD} after adding them)"))
    kind = columns.get("eventtime")
    if kind is not None and kind != EVENTTIME_TYPE:
        out.append(Finding("cel_pgsql.conf", line, f"table {table}: eventtime is {kind}, not "
                           f"{EVENTTIME_TYPE}: cel_pgsql writes UTC without an offset "
                           "(usegmtime = yes), which PostgreSQL would take as the "
                           "session's time zone"))
    return out
