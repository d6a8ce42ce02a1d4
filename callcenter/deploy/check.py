"""``check_config(directory, settings)``: every inconsistency, sorted by file and line."""

from __future__ import annotations

from pathlib import Path

from callcenter.deploy.ami_checks import check_manager, unknown_classes
from callcenter.deploy.findings import Finding, load_deployment
from callcenter.deploy.pbx_checks import check_dialplan, check_pjsip, check_queues
from callcenter.settings import Settings


def check_config(directory: Path, settings: Settings) -> list[Finding]:
    """Findings for the Asterisk configuration in ``directory`` (empty when consistent).

    Raises :class:`callcenter.asterisk_conf.ConfInputError` when the directory or
    one of its files cannot be read.
    """
    dep = load_deployment(directory)
    found = {
        *check_manager(dep, settings),
        *unknown_classes(dep),
        *check_queues(dep, settings),
        *check_dialplan(dep, settings),
        *check_pjsip(dep),
    }
    return sorted(found)
