"""``check_config(directory, settings)``: every inconsistency, sorted by file and line;
``check_database``: the CEL table(s) the configuration writes into."""

from __future__ import annotations

from pathlib import Path

from callcenter.deploy.ami_checks import check_manager, unknown_classes
from callcenter.deploy.callback_checks import check_callbacks
from callcenter.deploy.cel_checks import cel_servers, check_cel
from callcenter.deploy.cel_table import check_cel_tables
from callcenter.deploy.findings import Finding, load_deployment
from callcenter.deploy.monitor_checks import check_monitoring
from callcenter.deploy.pbx_checks import check_dialplan, check_pjsip, check_queues
from callcenter.deploy.survey_checks import check_survey
from callcenter.settings import Settings


def check_config(directory: Path, settings: Settings, server: str | None = None
                 ) -> list[Finding]:
    """Findings for the Asterisk configuration in ``directory`` (empty when consistent).

    ``server``: the ``[[servers]]`` entry this PBX is (its ``cel_table``); by default
    any of them. Raises :class:`callcenter.asterisk_conf.ConfInputError` when the
    directory or one of its files cannot be read, or ``server`` is not configured.
    """
    dep = load_deployment(directory)
    found = {
        *check_manager(dep, settings),
        *unknown_classes(dep),
        *check_queues(dep, settings),
        *check_dialplan(dep, settings),
        *check_pjsip(dep),
        *check_monitoring(dep, settings),
        *check_cel(dep, settings, server),
        *check_survey(dep, settings),
        *check_callbacks(dep, settings),
    }
    return sorted(found)


async def check_database(directory: Path, settings: Settings, dsn: str,
                         server: str | None = None) -> list[Finding]:
    """Findings for the CEL table(s) of the servers in the database at ``dsn``."""
    tables = sorted({s.cel_table for s in cel_servers(settings, server) if s.cel_table})
    if not tables:
        return []
    pgsql = load_deployment(directory).optional.get("cel_pgsql.conf")
    return sorted(await check_cel_tables(dsn, tables, pgsql))
