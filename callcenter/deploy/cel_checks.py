"""cel.conf, cel_pgsql.conf and modules.conf: Asterisk writes the CEL the daemon fills
outages from, into the table ``servers[].cel_table`` names."""

from __future__ import annotations

from collections.abc import Iterator

from callcenter.asterisk_conf import ConfFile, ConfInputError, Section, Setting
from callcenter.deploy.findings import Deployment, Finding, is_true
from callcenter.settings import AmiServer, Settings

NEEDED_EVENTS = ("CHAN_START", "ANSWER", "HANGUP", "CHAN_END", "BRIDGE_ENTER", "BRIDGE_EXIT",
                 "APP_START", "APP_END", "LINKEDID_END")
"""What a call is rebuilt from (``ALL`` includes them)."""
KNOWN_EVENTS = frozenset({
    "ALL", *NEEDED_EVENTS, "PARK_START", "PARK_END", "USER_DEFINED", "BLINDTRANSFER",
    "ATTENDEDTRANSFER", "PICKUP", "FORWARD", "LOCAL_OPTIMIZE", "LOCAL_OPTIMIZE_BEGIN",
    "STREAM_BEGIN", "STREAM_END", "DTMF"})
"""Asterisk 22's event names (main/cel.c); any other makes Asterisk reject cel.conf."""
NEEDED_APPS = ("queue", "dial", "mixmonitor")
DEFAULT_TABLE = "cel"
"""cel_pgsql's table when ``table`` is not set."""
NO_FILL = "outages will not be filled from CEL"


def cel_servers(settings: Settings, server: str | None = None) -> list[AmiServer]:
    """The servers this configuration directory may belong to: ``server`` when named,
    else every configured one (the default server when none is)."""
    servers = settings.servers or [AmiServer(name="pbx")]
    if server is None:
        return servers
    chosen = [s for s in servers if s.name == server]
    if not chosen:
        raise ConfInputError(f"no [[servers]] named {server!r} in the settings")
    return chosen


def first(section: Section, key: str) -> Setting | None:
    """The first ``key`` of ``section``: the one cel_pgsql's ast_variable_retrieve takes."""
    return next((s for s in section.settings if s.key == key), None)


def check_cel(dep: Deployment, settings: Settings, server: str | None = None
              ) -> Iterator[Finding]:
    """Findings of the CEL files for the servers of :func:`cel_servers`."""
    servers = cel_servers(settings, server)
    pgsql = dep.optional.get("cel_pgsql.conf")
    for s in servers:
        if not s.cel_table:
            yield Finding("cel_pgsql.conf", 1, f"[[servers]] {s.name} has cel_table = \"\": "
                          f"this PBX's {NO_FILL}", warning=True)
    tables = sorted({s.cel_table for s in servers if s.cel_table})
    if not tables:
        return
    yield from _cel_conf(dep.optional.get("cel.conf"))
    if pgsql is None:
        yield Finding("cel_pgsql.conf", 1, f"missing: Asterisk does not write CEL into "
                      f"PostgreSQL, {NO_FILL} (ship dialplan/cel_pgsql.conf)")
    else:
        yield from _cel_pgsql(pgsql, tables)
    yield from _modules(dep.optional.get("modules.conf"))


def _cel_conf(conf: ConfFile | None) -> Iterator[Finding]:
    general = conf.first("general") if conf else None
    if conf is None or general is None:
        yield Finding("cel.conf", 1, f"{'no [general] section' if conf else 'missing'}: CEL is "
                      f"off, {NO_FILL} (ship dialplan/cel.conf)")
        return
    enable = conf.get(general, "enable")
    if not is_true(enable.value if enable else None):
        yield Finding(conf.name, enable.line if enable else general.line,
                      f"enable is not yes: CEL is off, {NO_FILL}")
    yield from _events(conf, general)
    yield from _apps(conf, general)
    manager = conf.first("manager")
    enabled = conf.get(manager, "enabled") if manager else None
    if enabled is not None and is_true(enabled.value):
        yield Finding(conf.name, enabled.line, "[manager] enabled = yes sends every CEL row "
                      "over the AMI as well: twice the event volume, and the daemon reads CEL "
                      "from the database", warning=True)


def _words(setting: Setting | None) -> list[str]:
    return [w.strip() for w in setting.value.split(",") if w.strip()] if setting else []


def _events(conf: ConfFile, general: Section) -> Iterator[Finding]:
    setting = conf.get(general, "events")
    line = setting.line if setting else general.line
    names = {w.upper() for w in _words(setting)}
    unknown = sorted(names - KNOWN_EVENTS)
    if unknown:
        yield Finding(conf.name, line, f"events: unknown {', '.join(unknown)}: Asterisk "
                      "rejects cel.conf and logs no CEL at all")
    missing = [] if "ALL" in names else [e for e in NEEDED_EVENTS if e not in names]
    if missing:
        yield Finding(conf.name, line, f"events lacks {', '.join(missing)}: the daemon "
                      "rebuilds a call of an outage from these")
    if names & {"ALL", "DTMF"}:
        yield Finding(conf.name, line, "events include DTMF: the digits callers key in (card "
                      "numbers too) are stored in the database; list the events instead of "
                      "ALL (dialplan/cel.conf)", warning=True)


def _apps(conf: ConfFile, general: Section) -> Iterator[Finding]:
    setting = conf.get(general, "apps")
    line = setting.line if setting else general.line
    apps = {w.lower() for w in _words(setting)}
    if "all" in apps:
        yield Finding(conf.name, line, "apps = all is not a keyword in Asterisk 22: it tracks "
                      "an application called \"all\", so no APP_START / APP_END is written; "
                      f"list the applications ({','.join(NEEDED_APPS)},...)")
    missing = [a for a in NEEDED_APPS if a not in apps]
    if missing:
        yield Finding(conf.name, line, f"apps lacks {', '.join(missing)}: no APP_START / "
                      "APP_END for them (the queue wait, the rings, the recording's name)")


def _cel_pgsql(conf: ConfFile, tables: list[str]) -> Iterator[Finding]:
    general = conf.first("global")
    if general is None:
        yield Finding(conf.name, 1, f"no [global] section: cel_pgsql does not load, {NO_FILL}")
        return
    gmt = first(general, "usegmtime")
    if not is_true(gmt.value if gmt else None):
        yield Finding(conf.name, gmt.line if gmt else general.line, "usegmtime is not yes: "
                      "eventtime would be the PBX's local time, and the daemon reads it as UTC")
    table = first(general, "table")
    name = table.value if table else DEFAULT_TABLE
    if name not in tables:
        unset = "" if table else " (not set: cel_pgsql's default)"
        yield Finding(conf.name, table.line if table else general.line,
                      f"table {name}{unset} is not servers[].cel_table "
                      f"({' or '.join(tables)}): the daemon would read another table")


def _modules(conf: ConfFile | None) -> Iterator[Finding]:
    section = conf.first("modules") if conf else None
    if conf is None or section is None:
        return
    loads = {s.key: s for s in section.settings
             if s.value.strip().lower() in {"cel_pgsql.so", "cel_pgsql"}}
    if "noload" in loads:
        yield Finding(conf.name, loads["noload"].line, f"noload = cel_pgsql.so: {NO_FILL}")
    autoload = conf.get(section, "autoload")
    if not is_true(autoload.value if autoload else None) and not loads.keys() & {
            "load", "preload", "require", "preload-require"}:
        yield Finding(conf.name, autoload.line if autoload else section.line,
                      f"autoload is not yes and no load = cel_pgsql.so: {NO_FILL}")
