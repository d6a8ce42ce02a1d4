"""Entrypoint of the callcenter container (Dockerfile, docker-compose.yml).

``python -m callcenter.cli.container [COMMAND ...]``: when ``AMI_SECRET``
is set and no ``CALLCENTER_CONFIG`` is given, writes the ``[[servers]]`` entry
from ``PBX_NAME``, ``AMI_HOST``, ``AMI_PORT``, ``AMI_USERNAME`` and
``AMI_SECRET`` (a list the ``CALLCENTER_*`` variables cannot express) into a
private TOML file, prints ``callcenter check-config`` findings for
``DIALPLAN_DIR`` (and its CEL table in the database) as warnings, then runs
``callcenter COMMAND ...`` (default ``run``). ``health`` instead exits 0 when the web UI accepts connections.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from callcenter.asterisk_conf import ConfInputError
from callcenter.cli import main as cli_main
from callcenter.deploy.check import check_config, check_database
from callcenter.settings import SettingsError, load_settings

CONFIG_NAME = "callcenter-servers.toml"


def servers_toml(env: Mapping[str, str]) -> str:
    """The ``[[servers]]`` TOML of the ``AMI_*`` variables (strings escaped for TOML)."""
    fields = {
        "name": env.get("PBX_NAME", "pbx1"),
        "host": env.get("AMI_HOST", "127.0.0.1"),
        "username": env.get("AMI_USERNAME", "callcenter"),
        "secret": env["AMI_SECRET"],
    }
    lines = ["[[servers]]", *(f"{key} = {json.dumps(value)}" for key, value in fields.items())]
    port = env.get("AMI_PORT", "5038")
    if not port.isdigit():
        raise SettingsError(f"AMI_PORT: {port!r} is not a port number")
    lines.append(f"port = {int(port)}")
    return "\n".join(lines) + "\n"


def write_config(env: Mapping[str, str], directory: Path) -> Path:
    """Write :func:`servers_toml` to ``directory`` readable by this user only; its path.
    Written aside, then renamed: an instance sharing ``directory`` (the standby of
    docker-compose.yml) never reads it half-written."""
    path = directory / CONFIG_NAME
    aside = directory / f".{CONFIG_NAME}.{os.getpid()}"
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(servers_toml(env))
    os.replace(aside, path)
    return path


def warn_config(directory: Path) -> int:
    """Print check-config findings of ``directory`` (and of its CEL table when a database
    URL is set) to stderr; their number."""
    try:
        settings = load_settings()
        findings = check_config(directory, settings)
        if settings.database.dsn:
            findings += asyncio.run(check_database(directory, settings, settings.database.dsn))
    except (ConfInputError, SettingsError) as exc:
        print(f"check-config: {exc}", file=sys.stderr)
        return 1
    for finding in findings:
        print(f"check-config: {directory / finding.file}:{finding.line}: {finding.text}",
              file=sys.stderr)
    return len(findings)


def healthy(env: Mapping[str, str]) -> bool:
    """True when the web UI's port accepts a TCP connection within 3 s."""
    host = env.get("CALLCENTER_WEB__HOST", "127.0.0.1")
    port = int(env.get("CALLCENTER_WEB__PORT", "8080"))
    try:
        socket.create_connection(("127.0.0.1" if host in {"", "0.0.0.0", "::"} else host, port),
                                 timeout=3).close()
    except OSError:
        return False
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """Run the container's command; returns its exit code."""
    args = list(sys.argv[1:] if argv is None else argv) or ["run"]
    if args == ["health"]:
        return 0 if healthy(os.environ) else 1
    try:
        if os.environ.get("AMI_SECRET") and not os.environ.get("CALLCENTER_CONFIG"):
            os.environ["CALLCENTER_CONFIG"] = str(write_config(os.environ, Path.home()))
        if os.environ.get("DIALPLAN_DIR"):
            warn_config(Path(os.environ["DIALPLAN_DIR"]))
    except (OSError, SettingsError) as exc:
        print(f"callcenter container: {exc}", file=sys.stderr)
        return 2
    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
