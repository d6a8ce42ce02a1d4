"""The prompts the shipped dialplan plays: files of ``sounds/`` (beside the .conf files,
mounted at Asterisk's ``sounds/callcenter``), in Asterisk's 8 kHz mono 16-bit WAV."""

from __future__ import annotations

import wave
from collections.abc import Iterator
from pathlib import Path

from callcenter.deploy.dialplan import Step, split_args
from callcenter.deploy.findings import Deployment, Finding

SOUNDS_DIR = "sounds"
"""Beside the .conf files; docker-compose.yml mounts it at Asterisk's sounds/callcenter."""
SOUNDS_PREFIX = "callcenter/"
PROMPT_FORMAT = (8000, 1, 2)
"""Asterisk's ``wav`` (signed linear): 8 kHz, mono, 2 bytes a sample."""
PLAYING_APPS = {"Read": 1, "Playback": 0, "Background": 0}
"""Applications that play a sound → the index of its argument."""


def prompt_findings(dep: Deployment, step: Step) -> Iterator[Finding]:
    """What keeps the prompts ``step`` plays (Read, Playback, Background) from playing."""
    index = PLAYING_APPS.get(step.app)
    args = split_args(dep.dialplan.expand(step.data))
    if step.app.lower() == "execif":  # ExecIf(cond?App(args)): the application inside
        inner = step.data.partition("?")[2]
        app, _, rest = inner.partition("(")
        index, args = PLAYING_APPS.get(app), split_args(dep.dialplan.expand(rest.rstrip(")")))
    if index is None or len(args) <= index or not args[index]:
        return
    for sound in args[index].split("&"):
        problem = sound_problem(dep.directory, sound)
        if problem:
            yield Finding(step.file, step.line, problem)


def sound_problem(directory: Path, sound: str) -> str | None:
    """Why ``sound`` (``callcenter/<lang>/<name>``) cannot play, or None."""
    if not sound.startswith(SOUNDS_PREFIX) or "${" in sound:
        return f"prompt {sound!r} is not a file of {SOUNDS_DIR}/ ({SOUNDS_PREFIX}<lang>/<name>)"
    path = directory / SOUNDS_DIR / (sound.removeprefix(SOUNDS_PREFIX) + ".wav")
    try:
        with wave.open(str(path), "rb") as w:
            got = (w.getframerate(), w.getnchannels(), w.getsampwidth())
    except FileNotFoundError:
        return (f"prompt {sound!r}: {SOUNDS_DIR}/{path.relative_to(directory / SOUNDS_DIR)} "
                "is missing")
    except (OSError, EOFError, wave.Error) as exc:
        return f"prompt {sound!r}: not a WAV file ({exc})"
    if got != PROMPT_FORMAT:
        return (f"prompt {sound!r} is {got[0]} Hz, {got[1]} channel(s), {8 * got[2]}-bit: "
                "Asterisk's wav needs 8000 Hz mono 16-bit")
    return None
