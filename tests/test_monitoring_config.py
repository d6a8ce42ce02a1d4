"""check-config for live monitoring: the supervisors' endpoints and the AMI user's originate."""

from __future__ import annotations

import shutil
from pathlib import Path

from callcenter.deploy.check import check_config
from callcenter.settings import MonitoringSettings, Settings

DIALPLAN = Path(__file__).resolve().parents[1] / "dialplan"


def settings(*endpoints: str) -> Settings:
    return Settings(monitoring=MonitoringSettings(endpoints=list(endpoints)))


def messages(directory: Path, s: Settings) -> list[str]:
    return [f.message for f in check_config(directory, s)]


def test_shipped_supervisor_endpoint_passes() -> None:
    assert messages(DIALPLAN, settings("supervisor2001")) == messages(DIALPLAN, settings())
    assert not [m for m in messages(DIALPLAN, settings("supervisor2001")) if "monitoring" in m]


def test_unknown_supervisor_endpoint_is_reported() -> None:
    found = [m for m in messages(DIALPLAN, settings("supervisor2001", "supervisor2999"))
             if "monitoring" in m]
    assert found == [("monitoring.endpoints: supervisor2999 is not an endpoint of pjsip.conf: "
                     "live monitoring cannot ring that supervisor")]


def test_endpoint_without_aor_is_reported(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    shutil.copytree(DIALPLAN, conf)
    pjsip = conf / "pjsip.conf"
    pjsip.write_text(pjsip.read_text().replace("[supervisor2001](agent-aor)\n", ""))
    assert [m for m in messages(conf, settings("supervisor2001")) if "monitoring" in m] == [
        ("monitoring.endpoints: supervisor2001 has no aor section of its name: its softphone "
        "cannot register")]


def test_ami_user_without_originate_is_reported(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    shutil.copytree(DIALPLAN, conf)
    manager = conf / "manager.conf"
    text = manager.read_text()
    assert "originate," in text
    manager.write_text(text.replace("originate,", "", 1))
    assert [m for m in messages(conf, settings("supervisor2001"))
            if "does not allow Originate (originate)" in m]
