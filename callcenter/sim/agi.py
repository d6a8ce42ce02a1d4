"""The simulated PBX as a FastAGI client: ``AGI(agi://host:port/<script>,<args>)``.

As Asterisk's res_agi: connect (refused or no answer: ``AGISTATUS=FAILURE`` at once,
the dialplan goes on), send the channel's environment, answer each ``SET VARIABLE`` with
``200 result=1`` (setting the variable: a ``VarSet`` event), until the server closes.
The variables set are returned; ``AGISTATUS`` is SUCCESS or FAILURE.
"""

from __future__ import annotations

import asyncio
import re

from callcenter.sim.model import Channel
from callcenter.sim.pbx import PBX

CONNECT_TIMEOUT_S = 2.0
"""res_agi's MAX_AGI_CONNECT (2000 ms)."""
SESSION_LIMIT_S = 10.0
"""A bound the real res_agi does not have (it would wait for ever on a server that
accepts and never answers); the daemon's own timeout answers well before it."""
_SET = re.compile(r'^SET VARIABLE (\w+) "((?:[^"\\]|\\.)*)"$')


def environment(pbx: PBX, ch: Channel, url: str, script: str, args: list[str]) -> bytes:
    """The ``agi_*`` lines res_agi sends for ``ch``, then the empty line."""
    env = {"network": "yes", "network_script": script, "request": url, "channel": ch.name,
           "language": "en", "type": "PJSIP", "uniqueid": ch.uniqueid, "version": "22.10.1",
           "callerid": ch.cid_num or "unknown", "calleridname": ch.cid_name or "unknown",
           "callingpres": "0", "dnid": ch.dnid or "unknown", "context": ch.context,
           "extension": ch.exten, "priority": ch.priority, "enhanced": "0.0",
           "accountcode": "", "threadid": "140000000000000"}
    lines = [f"agi_{k}: {v}" for k, v in env.items()]
    lines += [f"agi_arg_{n}: {a}" for n, a in enumerate(args, 1)]
    return ("\n".join(lines) + "\n\n").encode()


async def run_agi(pbx: PBX, ch: Channel, priority: str, script: str,
                  args: list[str]) -> dict[str, str]:
    """``AGI(agi://<pbx.agi>/<script>,<args>)`` on ``ch`` at ``priority``: the variables
    the server set, and ``AGISTATUS``."""
    host, port = pbx.agi_address or ("127.0.0.1", 9)
    url = f"agi://{host}:{port}/{script}"
    pbx.newexten(ch, priority, "AGI", ",".join([url, *args]))
    found: dict[str, str] = {}
    status = "SUCCESS"
    try:
        found = await asyncio.wait_for(_session(pbx, ch, host, port, url, script, args),
                                       SESSION_LIMIT_S)
    except (OSError, TimeoutError, ConnectionError):
        status = "FAILURE"
    pbx.set_var(ch, "AGISTATUS", status)
    return {**found, "AGISTATUS": status}


async def _session(pbx: PBX, ch: Channel, host: str, port: int, url: str, script: str,
                   args: list[str]) -> dict[str, str]:
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port),
                                            CONNECT_TIMEOUT_S)
    found: dict[str, str] = {}
    try:
        writer.write(environment(pbx, ch, url, script, args))
        while line := await reader.readline():
            m = _SET.match(line.decode(errors="replace").rstrip("\r\n"))
            if m is None:
                writer.write(b"510 Invalid or unknown command\n")
                continue
            value = re.sub(r"\\(.)", r"\1", m.group(2))
            found[m.group(1)] = value
            pbx.set_var(ch, m.group(1), value)
            writer.write(b"200 result=1\n")
    finally:
        writer.close()
    return found
