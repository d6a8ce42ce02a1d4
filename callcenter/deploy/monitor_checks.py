"""pjsip.conf against ``[monitoring]``: the supervisors' softphones live monitoring rings.

(The AMI user's ``originate`` write class, which the Originate of ChanSpy needs, is
checked with the daemon's other actions in :mod:`callcenter.deploy.ami_checks`.)
"""

from __future__ import annotations

from collections.abc import Iterator

from callcenter.deploy.findings import Deployment, Finding
from callcenter.settings import Settings


def check_monitoring(dep: Deployment, settings: Settings) -> Iterator[Finding]:
    """Every ``monitoring.endpoints`` entry is a PJSIP endpoint (with an AOR to reach it)."""
    conf = dep.pjsip
    types: dict[str, set[str]] = {}
    for section in conf.sections:
        kind = conf.get(section, "type")
        if not section.template and kind is not None:
            types.setdefault(section.name, set()).add(kind.value.lower())
    for endpoint in settings.monitoring.endpoints:
        kinds = types.get(endpoint, set())
        if "endpoint" not in kinds:
            yield Finding(conf.name, 1, f"monitoring.endpoints: {endpoint} is not an endpoint "
                          "of pjsip.conf: live monitoring cannot ring that supervisor")
        elif "aor" not in kinds:
            yield Finding(conf.name, 1, f"monitoring.endpoints: {endpoint} has no aor section "
                          "of its name: its softphone cannot register")
