"""The post-call satisfaction survey, as the dialplan reports it (pure).

The shipped dialplan (``dialplan/extensions.conf``, ``[cc-survey]``) runs the survey
on the caller's channel once the agent has hung up first: its ``Read`` of one digit
(a ``Newexten`` in context ``cc-survey``, class dialplan) starts it, and
``UserEvent(Survey,Score: ${SCORE})`` ends it: an AMI ``UserEvent`` (read class
``user``) carrying the caller channel's snapshot, so its ``Linkedid`` names the call.
A score the caller did not give (no key, timeout) arrives as ``Score:`` with an empty
value; a caller who hangs up during the prompt leaves the Read without a UserEvent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from callcenter.calls.channels import text

log = structlog.get_logger(__name__)

SURVEY_EVENT = "Survey"
"""The ``UserEvent`` name the dialplan emits (``UserEvent: Survey``)."""
SCORE_FIELD = "Score"
"""The body header carrying the caller's key (1-5, or empty)."""
LOWEST, HIGHEST = 1, 5
SURVEY_CONTEXT = "cc-survey"
"""The dialplan context of the survey (its ``Read`` starts it)."""


@dataclass
class SurveyCounts:
    """Surveys the tracker saw: run (offered: the Read or the UserEvent came), answered
    with a valid key (1-5), and those whose ``Score`` was neither empty nor 1-5 (invalid:
    kept as no answer)."""

    offered: int = 0
    answered: int = 0
    invalid: int = 0


def is_survey(frame: Mapping[str, Any]) -> bool:
    """True for the dialplan's survey ``UserEvent``."""
    return frame.get("Event") == "UserEvent" and text(frame, "UserEvent") == SURVEY_EVENT


def is_survey_prompt(frame: Mapping[str, Any]) -> bool:
    """True for the ``Newexten`` of the survey's ``Read`` (the caller is being asked)."""
    return (frame.get("Event") == "Newexten" and text(frame, "Context") == SURVEY_CONTEXT
            and text(frame, "Application") == "Read")


def user_event_fields(appdata: str) -> dict[str, str]:
    """The ``UserEvent`` name and body headers of a ``UserEvent(name,Key: value,...)``
    application's (substituted) AppData, as the event's fields (CEL ``APP_START``)."""
    name, *headers = appdata.split(",")
    fields = {"UserEvent": name.strip()}
    for header in headers:
        key, colon, value = header.partition(":")
        if colon and key.strip():
            fields.setdefault(key.strip(), value.strip())
    return fields


def read_score(frame: Mapping[str, Any]) -> tuple[int | None, bool]:
    """(score, invalid) of a survey ``UserEvent``: the 1-5 the caller pressed, or None
    when nothing was pressed (empty, not invalid) or the value is no score (invalid)."""
    value = text(frame, SCORE_FIELD).strip()
    if not value:
        return None, False
    if value.isascii() and value.isdigit() and LOWEST <= int(value) <= HIGHEST:
        return int(value), False
    log.warning("survey_score_invalid", score=value[:40], linkedid=text(frame, "Linkedid"),
                hint="the dialplan's UserEvent(Survey,Score: ...) should carry Read's digit")
    return None, True
