"""Wait until cel_pgsql's PostgreSQL accepts connections (``pg_isready``), stdlib only.

Run by the Asterisk container's entrypoint before Asterisk starts: cel_pgsql
reads its table's columns once, at load, and writes nothing when PostgreSQL
did not answer then (a host reboot starts both containers at once).

    python3 pg_ready.py /etc/asterisk/cel_pgsql.conf PORT SECONDS
        -> exit 0 ready, 1 not ready in time

hostname, user and dbname come from the file's [global] section (a hostname
starting with / is a Unix-socket directory, as for cel_pgsql). A StartupMessage
is sent and the first reply read: an authentication request, or any error but
57P03 (the database system is starting up), means ready.
"""

from __future__ import annotations

import re
import socket
import struct
import sys
import time

NOT_YET = b"C57P03\x00"
_SETTING = re.compile(r"^\s*(hostname|user|dbname)\s*=>?\s*([^;\s]*)")


def conf_values(path: str) -> dict[str, str]:
    """hostname, user and dbname of cel_pgsql.conf (cel_pgsql's defaults when unset)."""
    values = {"hostname": "", "user": "asterisk", "dbname": "asteriskceldb"}
    seen: set[str] = set()
    with open(path, encoding="utf-8") as conf:
        for line in conf:
            m = _SETTING.match(line)
            if m and m.group(1) not in seen:  # cel_pgsql takes the first
                seen.add(m.group(1))
                values[m.group(1)] = m.group(2)
    return values


def ready(host: str, port: int, user: str, dbname: str, timeout: float = 3.0) -> bool:
    """One attempt: True when the server accepts connections."""
    params = b"".join(k + b"\x00" + v.encode() + b"\x00"
                      for k, v in ((b"user", user), (b"database", dbname))) + b"\x00"
    packet = struct.pack("!ii", 8 + len(params), 196608) + params
    try:
        host = host or "/var/run/postgresql"  # cel_pgsql: no hostname = the socket
        if host.startswith("/"):
            conn = socket.socket(socket.AF_UNIX)
            conn.settimeout(timeout)
            conn.connect(f"{host}/.s.PGSQL.{port}")
        else:
            conn = socket.create_connection((host, port), timeout=timeout)
        with conn:
            conn.sendall(packet)
            reply = conn.recv(4096)
    except OSError:
        return False
    return reply[:1] == b"R" or (reply[:1] == b"E" and NOT_YET not in reply)


def main(argv: list[str]) -> int:
    path, port, seconds = argv
    conf = conf_values(path)
    deadline = time.monotonic() + float(seconds)
    while not ready(conf["hostname"], int(port), conf["user"], conf["dbname"]):
        if time.monotonic() >= deadline:
            return 1
        time.sleep(1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
