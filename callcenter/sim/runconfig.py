"""The configuration of a ``callcenter run`` against simulated PBXs (tests, benches)."""

from __future__ import annotations

import socket
from pathlib import Path

from callcenter.sim.server import PBXSimulator


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def write_run_config(path: Path, dsn: str, sims: dict[str, PBXSimulator], *, spool: Path,
                     web_port: int, cel_tables: dict[str, str] | None = None,
                     extra: str = "") -> Path:
    """Write ``path``: the database ``dsn`` (1 s write timeout), the web UI on
    ``web_port``, one ``[[servers]]`` entry per simulator (by server name; its CEL table
    from ``cel_tables``, else ``cel``), then ``extra`` TOML."""
    servers = "".join(f"""
[[servers]]
name = "{server}"
host = "127.0.0.1"
port = {sim.port}
secret = "secret"
reconnect_min_s = 0.1
reconnect_max_s = 0.5
cel_table = "{(cel_tables or {}).get(server, 'cel')}"
""" for server, sim in sims.items())
    path.write_text(f"""
[database]
dsn = "{dsn}"
spool_dir = "{spool}"
write_timeout_s = 1.0
batch_delay_s = 0.01

[web]
host = "127.0.0.1"
port = {web_port}
secure_cookies = false

[callbacks]
agi_port = 0
""" + servers + extra, encoding="utf-8")
    return path
