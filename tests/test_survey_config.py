"""check-config on the post-call survey: the shipped dialplan, prompts and AMI user pass;
each way of breaking them is reported with its file and line."""

from __future__ import annotations

import shutil
import wave
from pathlib import Path

import pytest

from callcenter.cli import main
from callcenter.deploy.check import check_config
from callcenter.settings import Settings, SettingsError, load_settings
from tests.support.check_config import SHIPPED, line_of, mutate

SURVEYED = Settings()  # survey.queues = ["support"], as the shipped dialplan


@pytest.fixture
def conf_dir(tmp_path: Path) -> Path:
    target = tmp_path / "asterisk"
    shutil.copytree(SHIPPED, target)
    return target


def messages(directory: Path, settings: Settings = SURVEYED) -> list[str]:
    return [str(f) for f in check_config(directory, settings)]


def test_shipped_survey_passes_and_its_prompts_are_8khz_mono_16bit() -> None:
    assert messages(SHIPPED) == []
    prompts = sorted((SHIPPED / "sounds").glob("*/cc-survey-*.wav"))
    assert {p.parent.name for p in prompts} == {"zh", "en"} and len(prompts) == 4
    for prompt in prompts:
        with wave.open(str(prompt), "rb") as w:
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
            assert w.getnframes() > 8000  # more than a second of speech
        assert prompt.with_suffix(".txt").read_text(encoding="utf-8").strip()


def test_reading_user_is_harmless_without_surveys(conf_dir: Path) -> None:
    warning = " warning: Queue(support) runs the survey but survey.queues does not list 'support'"
    lines = [line_of(conf_dir, "extensions.conf", at) for at in (
        "Queue(support,ct,,,${QUEUE_WAIT})", "sub-record-agent)")]
    lines += [line_of(conf_dir, "extensions.conf", "Gosub(sub-queue-priority,s,1(support))") + 1,
              line_of(conf_dir, "extensions.conf", "n(toqueue),Queue")]
    assert messages(conf_dir, Settings.model_validate({"survey": {"queues": []}})) == [
        f"extensions.conf:{line}:{warning}" for line in lines]


@pytest.mark.parametrize(("name", "old", "new", "at", "message"), [
    ("manager.conf", "read = call,agent,dialplan,system,user", "read = call,agent,dialplan,system",
     "read = call", "AMI user [callcenter] read lacks user: the survey's UserEvent never"),
    ("extensions.conf", "Queue(support,ct,,,${QUEUE_WAIT})\n same => n,Gosub",
     "Queue(support,t,,,${QUEUE_WAIT})\n same => n,Gosub", "Queue(support,t,,,",
     "Queue(support) is surveyed but lacks option c"),
    ("extensions.conf", "sub-record-agent)\n same => n,Gosub(cc-survey,s,1)",
     "sub-record-agent)", "sub-record-agent)",
     "Queue(support) is surveyed but the next step is not Gosub(cc-survey,s,1)"),
    ("extensions.conf", "UserEvent(Survey,Score: ${SCORE})",
     "UserEvent(Survey,Linkedid: ${CHANNEL(linkedid)},Score: ${SCORE})", "UserEvent(",
     "UserEvent sets its own Linkedid"),
    ("extensions.conf", "UserEvent(Survey,Score: ${SCORE})", "UserEvent(Rating,Score: ${SCORE})",
     "UserEvent(", "UserEvent name 'Rating'"),
    ("extensions.conf", "UserEvent(Survey,Score: ${SCORE})", "UserEvent(Survey,Score: 5)",
     "UserEvent(", "UserEvent has no 'Score: ${SCORE}'"),
    ("extensions.conf", "cc-survey-prompt,1", "cc-survey-welcome,1", "cc-survey-welcome",
     "prompt 'callcenter/zh/cc-survey-welcome': sounds/zh/cc-survey-welcome.wav is missing"),
    ("extensions.conf", "SURVEY_LANGUAGE = zh", "SURVEY_LANGUAGE = fr", "Read(SCORE",
     "prompt 'callcenter/fr/cc-survey-prompt': sounds/fr/cc-survey-prompt.wav is missing"),
])
def test_broken_survey_is_reported(conf_dir: Path, name: str, old: str, new: str, at: str,
                                   message: str) -> None:
    mutate(conf_dir, name, old, new)
    line = line_of(conf_dir, name, at)
    found = [m for m in messages(conf_dir) if m.startswith(f"{name}:{line}: {message}")]
    assert found, messages(conf_dir)


def test_prompt_of_the_wrong_rate_and_missing_context(conf_dir: Path) -> None:
    prompt = conf_dir / "sounds" / "zh" / "cc-survey-thanks.wav"
    _resample(prompt)
    line = line_of(conf_dir, "extensions.conf", "cc-survey-thanks")
    assert (f"extensions.conf:{line}: prompt 'callcenter/zh/cc-survey-thanks' is 16000 Hz, "
            "1 channel(s), 16-bit: Asterisk's wav needs 8000 Hz mono 16-bit") in messages(conf_dir)
    mutate(conf_dir, "extensions.conf", "[cc-survey]", "[cc-survey-old]")
    assert "extensions.conf:1: no [cc-survey] context: the surveyed queues' Gosub has nowhere " \
           "to go" in messages(conf_dir)


def _resample(path: Path) -> None:
    """Overwrite ``path`` with a second of 16 kHz silence."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\0\0" * 16000)


def test_cli_rejects_a_broken_survey(conf_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mutate(conf_dir, "manager.conf", "dialplan,system,user", "dialplan,system")
    assert main(["check-config", str(conf_dir)]) == 1
    assert "read lacks user" in capsys.readouterr().out


@pytest.mark.parametrize(("queues", "error"), [
    ('["sup port"]', "survey.queues"), ('["support", "support"]', "listed twice"),
    ('"support"', "survey.queues")])
def test_bad_survey_settings_name_the_key(tmp_path: Path, queues: str, error: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(f"[survey]\nqueues = {queues}\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=error):
        load_settings(path)


def test_compose_mounts_the_prompts_where_the_dialplan_plays_them() -> None:
    """./dialplan/sounds → Asterisk's sounds/callcenter, read-only: ``callcenter/<lang>/...``
    of the survey's Read and Playback (check-config reads the same files)."""
    import yaml

    from callcenter.deploy.prompts import SOUNDS_DIR, SOUNDS_PREFIX

    compose = yaml.safe_load((SHIPPED.parent / "docker-compose.yml").read_text(encoding="utf-8"))
    volumes = compose["services"]["asterisk"]["volumes"]
    assert (f"./dialplan/{SOUNDS_DIR}:/var/lib/asterisk/sounds/{SOUNDS_PREFIX.rstrip('/')}:ro"
            in volumes)
