"""manager.conf against the daemon: AMI on, timestamps, private bind, least privilege."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from callcenter.asterisk_conf import ConfFile, Section, Setting
from callcenter.deploy.findings import Deployment, Finding, is_true
from callcenter.deploy.privileges import (
    ALL_CLASSES,
    READ_HARMLESS,
    READ_NEEDED,
    WRITE_DANGEROUS,
    WRITE_LEAST,
    denied_actions,
    parse_classes,
)
from callcenter.settings import AmiServer, Settings

DEFAULT_PORT = 5038


def check_manager(dep: Deployment, settings: Settings) -> Iterator[Finding]:
    """Findings of manager.conf: [general] and the daemon's AMI user(s)."""
    conf = dep.manager
    general = conf.first("general")
    if general is None:
        yield Finding(conf.name, 1, "no [general] section: the AMI is disabled")
    else:
        yield from _general(conf, general, settings)
    servers = settings.servers or [AmiServer(name="pbx")]
    for username in sorted({s.username for s in servers}):
        user = conf.first(username)
        if user is None or user.template:
            yield Finding(conf.name, general.line if general else 1,
                          f"no AMI user [{username}]: the daemon logs in as {username!r}")
        else:
            yield from _user(conf, user, bool(settings.ring.queues_conf))


def _general(conf: ConfFile, general: Section, settings: Settings) -> Iterator[Finding]:
    enabled = conf.get(general, "enabled")
    if not is_true(enabled.value if enabled else None):
        yield Finding(conf.name, enabled.line if enabled else general.line,
                      "enabled is not yes: the AMI is off")
    stamps = conf.get(general, "timestampevents")
    if not is_true(stamps.value if stamps else None):
        yield Finding(conf.name, stamps.line if stamps else general.line,
                      "timestampevents is not yes: events carry no Timestamp, so ring "
                      "deadlines, waits and talk times would be measured by arrival")
    yield from _bindaddr(conf, general)
    web = conf.get(general, "webenabled")
    if web is not None and is_true(web.value):
        yield Finding(conf.name, web.line, "webenabled = yes exposes the AMI over HTTP")
    port_setting = conf.get(general, "port")
    port = port_setting.value if port_setting else str(DEFAULT_PORT)
    for server in settings.servers:
        if str(server.port) != port:
            yield Finding(conf.name, port_setting.line if port_setting else general.line,
                          f"the AMI listens on port {port} but [[servers]] {server.name} "
                          f"connects to port {server.port}")


def _bindaddr(conf: ConfFile, general: Section) -> Iterator[Finding]:
    bind = conf.get(general, "bindaddr")
    if bind is None:
        yield Finding(conf.name, general.line, "bindaddr is not set: the AMI listens on every "
                      "address; bind it to a private address (127.0.0.1 or the LAN's)")
        return
    try:
        addr = ipaddress.ip_address(bind.value.strip("[]"))
    except ValueError:
        yield Finding(conf.name, bind.line, f"bindaddr {bind.value!r} is not an IP address")
        return
    if addr.is_unspecified or not (addr.is_private or addr.is_loopback):
        yield Finding(conf.name, bind.line, f"bindaddr {bind.value} is not a private address: "
                      "the AMI can hang up calls and reads caller numbers")


def _user(conf: ConfFile, user: Section, queues_conf: bool) -> Iterator[Finding]:
    where = f"AMI user [{user.name}]"
    read, write = conf.get(user, "read"), conf.get(user, "write")
    granted_read, granted_write = _granted(read), _granted(write)
    line_r = read.line if read else user.line
    line_w = write.line if write else user.line
    missing = [c for c in READ_NEEDED if c not in granted_read]
    if missing:
        lost = "; ".join(f"{c}: {READ_NEEDED[c]}" for c in missing)
        yield Finding(conf.name, line_r, f"{where} read lacks {', '.join(missing)} ({lost})")
    extra_read = sorted((granted_read & ALL_CLASSES) - set(READ_NEEDED) - set(READ_HARMLESS))
    if extra_read:
        yield Finding(conf.name, line_r, f"{where} read grants {', '.join(extra_read)}: "
                      f"events the daemon does not use (least privilege: "
                      f"{','.join(READ_NEEDED)})")
    denied = denied_actions(granted_write, queues_conf=queues_conf)
    if denied:
        need = ", ".join(f"{a} ({' or '.join(c)})" for a, c in denied.items())
        yield Finding(conf.name, line_w, f"{where} write does not allow {need}: "
                      "Asterisk answers 'Permission denied'")
    for cls in sorted(granted_write & WRITE_DANGEROUS.keys()):
        yield Finding(conf.name, line_w, f"{where} write grants {cls}: dangerous, it "
                      f"{WRITE_DANGEROUS[cls]}; the daemon never needs it")
    extra_write = sorted((granted_write & ALL_CLASSES) - WRITE_LEAST - WRITE_DANGEROUS.keys())
    if extra_write:
        yield Finding(conf.name, line_w, f"{where} write grants {', '.join(extra_write)} "
                      f"beyond what the daemon needs ({','.join(sorted(WRITE_LEAST))})")
    if conf.get(user, "permit") is None:
        yield Finding(conf.name, user.line, f"{where} has no permit= (with deny=0.0.0.0/0.0.0.0):"
                      " it may log in from any address")


def read_classes(conf: ConfFile, user: Section) -> set[str]:
    """The read classes the AMI user ``user`` of ``conf`` is granted."""
    return _granted(conf.get(user, "read"))


def _granted(setting: Setting | None) -> set[str]:
    """Classes a read/write line grants; unset grants none (Asterisk's default)."""
    return set() if setting is None else parse_classes(setting.value)[0]


def unknown_classes(dep: Deployment) -> Iterator[Finding]:
    """Words of read=/write= lines Asterisk does not know (it ignores them silently)."""
    for section in dep.manager.sections:
        for setting in section.settings:
            if setting.key in {"read", "write"}:
                for word in parse_classes(setting.value)[1]:
                    yield Finding(dep.manager.name, setting.line,
                                  f"[{section.name}] {setting.key}: unknown class {word!r} "
                                  "(Asterisk ignores it)")
