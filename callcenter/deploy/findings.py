"""What the checks read (a configuration directory) and what they report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from callcenter.asterisk_conf import ConfFile, ConfInputError, parse_conf
from callcenter.deploy.dialplan import Dialplan, build_dialplan

CONF_FILES = ("manager.conf", "queues.conf", "extensions.conf", "pjsip.conf")
TRUE_WORDS = frozenset({"yes", "true", "y", "t", "1", "on"})


@dataclass(frozen=True, order=True)
class Finding:
    """An inconsistency between the Asterisk configuration and the daemon's settings."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass
class Deployment:
    """The parsed files of one Asterisk configuration directory."""

    directory: Path
    manager: ConfFile
    queues: ConfFile
    extensions: ConfFile
    dialplan: Dialplan
    pjsip: ConfFile


def is_true(value: str | None) -> bool:
    """Asterisk's ast_true(): yes, true, y, t, 1, on."""
    return value is not None and value.strip().lower() in TRUE_WORDS


def load_deployment(directory: Path) -> Deployment:
    """Parse the four files of ``directory``; :class:`ConfInputError` when one cannot be read."""
    if not directory.is_dir():
        raise ConfInputError(f"{directory}: not a directory")
    files = {name: parse_conf(directory / name, directory) for name in CONF_FILES}
    return Deployment(
        directory=directory,
        manager=files["manager.conf"],
        queues=files["queues.conf"],
        extensions=files["extensions.conf"],
        dialplan=build_dialplan(files["extensions.conf"]),
        pjsip=files["pjsip.conf"],
    )
