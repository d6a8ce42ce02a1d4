"""What the checks read (a configuration directory) and what they report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from callcenter.asterisk_conf import ConfFile, ConfInputError, parse_conf
from callcenter.deploy.dialplan import Dialplan, build_dialplan

CONF_FILES = ("manager.conf", "queues.conf", "extensions.conf", "pjsip.conf")
OPTIONAL_FILES = ("cel.conf", "cel_pgsql.conf", "modules.conf")
"""Read when present: their absence is a finding (or, modules.conf, Asterisk's default)."""
TRUE_WORDS = frozenset({"yes", "true", "y", "t", "1", "on"})


@dataclass(frozen=True, order=True)
class Finding:
    """An inconsistency between the Asterisk configuration and the daemon's settings."""

    file: str
    line: int
    message: str
    warning: bool = False
    """Worth knowing, but not an inconsistency: check-config still exits 0."""

    @property
    def text(self) -> str:
        """The message, ``warning: `` first for a warning."""
        return f"warning: {self.message}" if self.warning else self.message

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.text}"


@dataclass
class Deployment:
    """The parsed files of one Asterisk configuration directory."""

    directory: Path
    manager: ConfFile
    queues: ConfFile
    extensions: ConfFile
    dialplan: Dialplan
    pjsip: ConfFile
    optional: dict[str, ConfFile]
    """The :data:`OPTIONAL_FILES` found, by file name."""


def is_true(value: str | None) -> bool:
    """Asterisk's ast_true(): yes, true, y, t, 1, on."""
    return value is not None and value.strip().lower() in TRUE_WORDS


def load_deployment(directory: Path) -> Deployment:
    """Parse the four files of ``directory`` and the optional ones present;
    :class:`ConfInputError` when one cannot be read."""
    if not directory.is_dir():
        raise ConfInputError(f"{directory}: not a directory")
    files = {name: parse_conf(directory / name, directory) for name in CONF_FILES}
    optional = {name: parse_conf(directory / name, directory) for name in OPTIONAL_FILES
                if (directory / name).exists()}
    return Deployment(
        directory=directory,
        manager=files["manager.conf"],
        queues=files["queues.conf"],
        extensions=files["extensions.conf"],
        dialplan=build_dialplan(files["extensions.conf"]),
        pjsip=files["pjsip.conf"],
        optional=optional,
    )
