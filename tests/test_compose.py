"""docker-compose.yml, Dockerfile, .env.example and the container entrypoints.

The schema check runs Debian's ``docker-compose -f docker-compose.yml config``
(no Docker engine needed) and skips with a message when the command is absent.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from callcenter.cli.container import healthy, main, servers_toml, warn_config, write_config
from callcenter.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
COMPOSE_BIN = shutil.which("docker-compose")
needs_compose = pytest.mark.skipif(
    COMPOSE_BIN is None, reason="docker-compose not installed (apt-get install docker-compose)")


def example_env() -> dict[str, str]:
    """The variables of .env.example."""
    out = {}
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def compose_config(cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    assert COMPOSE_BIN is not None
    return subprocess.run([COMPOSE_BIN, "-f", "docker-compose.yml", "config"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


@needs_compose
def test_compose_file_validates_against_the_schema() -> None:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/"),
           **example_env()}
    result = compose_config(ROOT, env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "image: andrius/asterisk:22.8.2_debian-trixie" in out
    assert "image: postgres:17.2-bookworm" in out
    # Asterisk, the active and the standby instance
    assert out.count("recordings:/var/spool/asterisk/monitor") == 3


@needs_compose
def test_compose_refuses_to_start_without_the_secrets(tmp_path: Path) -> None:
    shutil.copy(COMPOSE, tmp_path / "docker-compose.yml")  # no .env next to it
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/")}
    result = compose_config(tmp_path, env)
    assert result.returncode != 0
    assert "set AMI_SECRET in .env" in result.stderr


def test_images_are_pinned_and_every_service_is_health_checked() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    images = re.findall(r"^\s+image:\s*(\S+)$", text, re.MULTILINE)
    assert len(images) == 4  # migrate and both instances (x-callcenter) run callcenter's
    for image in images:
        tag = image.partition(":")[2]
        assert tag and tag != "latest" and re.search(r"\d+\.\d+", tag), image
    services = compose_services()
    assert list(services) == ["asterisk", "db", "migrate", "callcenter", "callcenter-standby"]
    for name, service in services.items():
        one_shot = service.get("restart") == "no"
        assert ("healthcheck" in service) != one_shot, name
    assert services["migrate"]["command"] == ["migrate"]


def compose_services() -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]
    return services


def test_asterisk_writes_cel_into_the_migrated_database() -> None:
    """cel.conf and cel_pgsql.conf are mounted, Asterisk starts after the migrations (cel_pgsql
    reads the cel table's columns when it loads) and gets the database password it renders."""
    services = compose_services()
    asterisk = services["asterisk"]
    mounts = {v.split(":")[1] for v in asterisk["volumes"]}
    assert {"/etc/asterisk/cel.conf", "/etc/asterisk/cel_pgsql.conf",
            "/etc/asterisk/pg_ready.py"} <= mounts
    assert asterisk["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert services["migrate"]["depends_on"]["db"] == {"condition": "service_healthy"}
    assert asterisk["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert (services["migrate"]["environment"]["CALLCENTER_DSN"]
            == services["callcenter"]["environment"]["CALLCENTER_DSN"])
    db_env = services["db"]["environment"]
    pgsql = (ROOT / "dialplan" / "cel_pgsql.conf").read_text(encoding="utf-8")
    assert re.search(rf"^dbname = {db_env['POSTGRES_DB']}$", pgsql, re.MULTILINE)
    assert re.search(rf"^user = {db_env['POSTGRES_USER']}$", pgsql, re.MULTILINE)
    assert re.search(r"^hostname = 127\.0\.0\.1$", pgsql, re.MULTILINE)  # host network


def test_two_instances_share_the_database_active_and_standby() -> None:
    """Both instances lease the PBX in the one database (HA on, distinct names), listen on
    distinct web ports of the host network, file recordings into the one store, keep
    their own spool, and are health-checked."""
    services = compose_services()
    pair = [services["callcenter"], services["callcenter-standby"]]
    envs = [s["environment"] for s in pair]
    assert all(env["CALLCENTER_HA__ENABLED"] == "true" for env in envs)
    assert len({env["CALLCENTER_HA__INSTANCE"] for env in envs}) == 2
    assert len({env["CALLCENTER_WEB__PORT"] for env in envs}) == 2
    assert envs[0]["CALLCENTER_DSN"] == envs[1]["CALLCENTER_DSN"] == (
        services["migrate"]["environment"]["CALLCENTER_DSN"])
    assert envs[0]["PBX_NAME"] == envs[1]["PBX_NAME"]  # the same PBX, leased by name
    assert set(pair[0]["volumes"]) == set(pair[1]["volumes"])  # callcenter-data: recordings
    [image_spool] = re.findall(r"CALLCENTER_DATABASE__SPOOL_DIR=(\S+)",
                               (ROOT / "Dockerfile").read_text(encoding="utf-8"))
    spools = [env.get("CALLCENTER_DATABASE__SPOOL_DIR", image_spool) for env in envs]
    assert len(set(spools)) == 2 and all(s.startswith("/var/lib/callcenter/") for s in spools)
    for service in pair:
        assert service["network_mode"] == "host" and service["restart"] == "unless-stopped"
        assert service["healthcheck"]["test"][-1] == "health"
        assert service["depends_on"]["db"] == {"condition": "service_healthy"}
    ports = {key: example_env()[key] for key in ("WEB_PORT", "STANDBY_WEB_PORT")}
    assert len(set(ports.values())) == 2


@needs_compose
def test_compose_renders_both_instances() -> None:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/"),
           **example_env()}
    result = compose_config(ROOT, env)
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    ports = [services[name]["environment"]["CALLCENTER_WEB__PORT"]
             for name in ("callcenter", "callcenter-standby")]
    assert ports == ["8080", "8081"]
    instances = {services[name]["environment"]["CALLCENTER_HA__INSTANCE"]
                 for name in ("callcenter", "callcenter-standby")}
    assert instances == {"callcenter-a", "callcenter-b"}


def test_no_secret_is_committed() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    secrets = re.findall(r"^\s+(\w*(?:SECRET|PASSWORD)\w*):\s*(.+)$", text, re.MULTILINE)
    assert secrets
    for key, value in secrets:
        assert value.startswith("${") and ":?" in value, (key, value)
    required = set(re.findall(r"\$\{(\w+):\?", text))
    example = example_env()
    assert required <= set(example)
    for key in required:
        if "SECRET" in key or "PASSWORD" in key:
            values = [v.partition("=")[2] or v for v in example[key].split(",")]
            assert all(v.startswith("change-me") for v in values), key
    assert ".env" in (ROOT / ".dockerignore").read_text(encoding="utf-8").split()


def test_dockerfile_is_slim_pinned_and_not_root() -> None:
    lines = (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()
    bases = [line.split()[1] for line in lines if line.startswith("FROM ")]
    assert bases and all(re.search(r":\d+\.\d+\.\d+-slim", base) for base in bases)
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users == ["callcenter"]
    assert any(line.startswith("HEALTHCHECK") for line in lines)


def test_asterisk_entrypoint_is_valid_sh() -> None:
    script = ROOT / "dialplan" / "docker-entrypoint.sh"
    assert subprocess.run(["sh", "-n", str(script)], timeout=10, check=False).returncode == 0


def test_asterisk_entrypoint_refuses_missing_and_placeholder_secrets() -> None:
    script = ROOT / "dialplan" / "docker-entrypoint.sh"
    base = {"PATH": os.environ.get("PATH", "")}
    missing = subprocess.run(["sh", str(script), "true"], env=base, capture_output=True,
                             text=True, timeout=10, check=False)
    assert missing.returncode != 0 and "AMI_SECRET is not set" in missing.stderr
    placeholder = subprocess.run(["sh", str(script), "true"], env={**base, **example_env()},
                                 capture_output=True, text=True, timeout=10, check=False)
    assert placeholder.returncode == 2
    assert "AMI_SECRET still has the placeholder" in placeholder.stderr


def test_asterisk_entrypoint_needs_the_database_password_for_cel() -> None:
    script = ROOT / "dialplan" / "docker-entrypoint.sh"
    env = {"PATH": os.environ.get("PATH", ""), "AMI_SECRET": "amisecret12345",
           "AGENT_PASSWORDS": "1001=agentpass1001", "TRUNK_HOST": "127.0.0.1",
           "TRUNK_USERNAME": "acct", "TRUNK_PASSWORD": "trunkpass12345"}

    def run(**extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["sh", str(script), "true"], env={**env, **extra},
                              capture_output=True, text=True, timeout=10, check=False)

    missing = run()
    assert missing.returncode != 0 and "POSTGRES_PASSWORD is not set" in missing.stderr
    bad_port = run(POSTGRES_PASSWORD="dbpassword1234", POSTGRES_PORT="5432;")
    assert bad_port.returncode == 2 and "POSTGRES_PORT '5432;' is not a port" in bad_port.stderr


def test_pg_ready_waits_for_the_cel_database(pg_server_dsn: str, tmp_path: Path) -> None:
    """dialplan/pg_ready.py (run before Asterisk): ready for a live server, whose address,
    user and database it reads from cel_pgsql.conf; exit 1 when nothing answers in time."""
    url = urlsplit(pg_server_dsn)
    host = url.hostname or parse_qs(url.query)["host"][0]
    conf = tmp_path / "cel_pgsql.conf"
    conf.write_text(f"[global]\nhostname = {host} ; a comment\nuser = {url.username}\n"
                    f"dbname = {url.path.lstrip('/')}\nhostname = ignored\n", encoding="utf-8")
    script = str(ROOT / "dialplan" / "pg_ready.py")

    def run(port: int) -> int:
        return subprocess.run([sys.executable, script, str(conf), str(port), "0"],
                              timeout=30, check=False).returncode

    assert run(url.port or 5432) == 0
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free = sock.getsockname()[1]
    assert run(free) == 1


def test_servers_toml_escapes_and_round_trips() -> None:
    env = {"PBX_NAME": "pbx2", "AMI_HOST": "10.0.0.5", "AMI_PORT": "5039",
           "AMI_SECRET": 'a"b\\c\u00e9'}
    data = tomllib.loads(servers_toml(env))
    settings = Settings.model_validate(data)
    server = settings.servers[0]
    assert (server.name, server.host, server.port, server.username, server.secret) == (
        "pbx2", "10.0.0.5", 5039, "callcenter", 'a"b\\c\u00e9')


def test_bad_ami_port_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AMI_SECRET", "s3cret-s3cret")
    monkeypatch.setenv("AMI_PORT", "ami")
    monkeypatch.delenv("CALLCENTER_CONFIG", raising=False)
    assert main(["--help"]) == 2
    assert capsys.readouterr().err.strip() == (
        "callcenter container: AMI_PORT: 'ami' is not a port number")


def test_written_config_is_private(tmp_path: Path) -> None:
    path = write_config({"AMI_SECRET": "s3cret-s3cret"}, tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert 'secret = "s3cret-s3cret"' in path.read_text(encoding="utf-8")
    path = write_config({"AMI_SECRET": "an0ther-s3cret"}, tmp_path)  # the standby's start
    assert 'secret = "an0ther-s3cret"' in path.read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # nothing left aside


def test_start_warns_about_an_inconsistent_dialplan(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert warn_config(ROOT / "dialplan") == 0
    copy = tmp_path / "dialplan"
    shutil.copytree(ROOT / "dialplan", copy)
    conf = copy / "manager.conf"
    conf.write_text(conf.read_text(encoding="utf-8").replace("timestampevents = yes", ""),
                    encoding="utf-8")
    assert warn_config(copy) == 1
    assert "timestampevents is not yes" in capsys.readouterr().err


def test_health_is_a_tcp_connect_to_the_web_port() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = str(server.getsockname()[1])
        assert healthy({"CALLCENTER_WEB__HOST": "0.0.0.0", "CALLCENTER_WEB__PORT": port})
    assert not healthy({"CALLCENTER_WEB__HOST": "127.0.0.1", "CALLCENTER_WEB__PORT": port})
