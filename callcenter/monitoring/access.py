"""Who may stop a monitoring session, and the errors of a monitoring request (who may
monitor at all: :func:`callcenter.web.auth.may_monitor`, the account page asks it too)."""

from __future__ import annotations

from callcenter.web.auth import Principal


class MonitorError(Exception):
    """A refused request: ``status`` (HTTP), ``code`` (stable), ``msgid`` (English, translated
    for the user)."""

    def __init__(self, status: int, code: str, msgid: str) -> None:
        super().__init__(msgid)
        self.status, self.code, self.msgid = status, code, msgid


def may_stop(principal: Principal, supervisor: str | None) -> bool:
    """The supervisor who started a session stops it; an administrator stops any."""
    return principal.role == "admin" or principal.username == supervisor
