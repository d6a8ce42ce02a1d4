"""Who may monitor live calls, and the errors of a monitoring request."""

from __future__ import annotations

from callcenter.settings import MonitoringSettings
from callcenter.web.auth import Principal


class MonitorError(Exception):
    """A refused request: ``status`` (HTTP), ``code`` (stable), ``msgid`` (English, translated
    for the user)."""

    def __init__(self, status: int, code: str, msgid: str) -> None:
        super().__init__(msgid)
        self.status, self.code, self.msgid = status, code, msgid


def may_monitor(settings: MonitoringSettings, principal: Principal) -> bool:
    """True when ``principal``'s role or name is allowed by ``[monitoring]``."""
    return principal.role in settings.roles or principal.username in settings.users


def may_stop(principal: Principal, supervisor: str | None) -> bool:
    """The supervisor who started a session stops it; an administrator stops any."""
    return principal.role == "admin" or principal.username == supervisor
