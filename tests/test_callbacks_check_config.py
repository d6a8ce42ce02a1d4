"""check-config and the callback / key-account priority dialplan: the shipped files pass,
the AMI user keeps today's privilege (no system, no command, nothing added), and each
inconsistency is reported with its file and line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from callcenter.cli import main
from callcenter.deploy.check import check_config
from callcenter.settings import Settings
from tests.support.check_config import SHIPPED, mutate


@pytest.fixture
def copied(tmp_path: Path) -> Path:
    """A copy of the shipped dialplan/ to mutate."""
    return Path(shutil.copytree(SHIPPED, tmp_path / "asterisk"))


ENABLED = {"callbacks": {"queues": {"support": {"offer_after_s": 30}}}}
TODAY = "write = call,agent,originate,reporting,config"


def messages(directory: Path, data: dict[str, object] | None = None) -> list[str]:
    return [str(f) for f in check_config(directory, Settings.model_validate(data or ENABLED))]


def test_shipped_callback_and_priority_dialplan_passes(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert messages(SHIPPED) == []
    config = tmp_path / "c.toml"
    config.write_text("[callbacks.queues.support]\noffer_after_s = 30\n", encoding="utf-8")
    assert main(["--config", str(config), "check-config", str(SHIPPED)]) == 0
    assert TODAY in (SHIPPED / "manager.conf").read_text(encoding="utf-8")


@pytest.mark.parametrize("extra", ["system", "command", "dialplan", "user", "all"])
def test_an_ami_user_with_more_privilege_than_today_is_rejected(
        copied: Path, extra: str, capsys: pytest.CaptureFixture[str]) -> None:
    mutate(copied, "manager.conf", TODAY, f"{TODAY},{extra}")
    found = messages(copied)
    assert found and all("manager.conf" in f and "AMI user [callcenter] write grants" in f
                         for f in found), found
    assert main(["check-config", str(copied)]) == 1


@pytest.mark.parametrize(("name", "old", "new", "expected"), [
    ("extensions.conf", "CALLCENTER_AGI = 127.0.0.1:4573", "CALLCENTER_AGI = 10.0.0.9:4573",
     "FastAGI at 10.0.0.9, not loopback"),
    ("extensions.conf", "CALLCENTER_AGI = 127.0.0.1:4573", "CALLCENTER_AGI = 127.0.0.1:4999",
     "FastAGI port 4999 is not callbacks.agi_port 4573"),
    ("extensions.conf", "exten => s,1,Set(QUEUE_PRIO=0)", "exten => s,1,NoOp()",
     "QUEUE_PRIO not set before AGI(.../priority)"),
    ("extensions.conf", "/priority,", "/prio,", "the daemon has no AGI script 'prio'"),
    ("queues.conf", "context = callback-support", ";", "queue support: no context ="),
    ("extensions.conf", " same => n,Set(CALLBACK_REQUESTED=${CALLBACK_ID})", "",
     "does not set CALLBACK_REQUESTED: the original call would count as abandoned"),
    ("extensions.conf", "[callback-dial]", "[callback-dial-old]",
     "context [callback-dial] (callbacks.originate_context) does not exist"),
])
def test_each_callback_inconsistency_is_reported(copied: Path, name: str, old: str,
                                                 new: str, expected: str) -> None:
    mutate(copied, name, old, new)
    found = messages(copied)
    assert found and all(f.startswith(f"{name}:") and expected in f for f in found), found


@pytest.mark.parametrize(("prompt", "expected"), [
    ("zh/cc-callback-offer.wav", ("queue support: periodic-announce prompt "
     "'callcenter/zh/cc-callback-offer': sounds/zh/cc-callback-offer.wav is missing")),
    ("zh/cc-callback-confirmed.wav", ("prompt 'callcenter/zh/cc-callback-confirmed': "
     "sounds/zh/cc-callback-confirmed.wav is missing")),
])
def test_a_missing_callback_prompt_is_reported(copied: Path, prompt: str, expected: str) -> None:
    (copied / "sounds" / prompt).unlink()
    found = messages(copied)
    assert len(found) == 1 and expected in found[0], found
