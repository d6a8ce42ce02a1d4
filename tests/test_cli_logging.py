"""Log format: JSON lines off a terminal, key-value on one; call lines carry the linkedid."""

from __future__ import annotations

import io
import json
import logging

import structlog

from callcenter.logging_setup import configure_logging


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_json_when_not_a_terminal() -> None:
    out = io.StringIO()
    configure_logging("auto", stream=out)
    structlog.get_logger("t").info("call_ended", linkedid="pbx-1.0", disposition="answered")
    logging.getLogger("stdlib").warning("plain %s", "line")
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["event"] == "call_ended" and first["linkedid"] == "pbx-1.0"
    assert first["level"] == "info" and first["timestamp"].endswith("Z")
    assert second["event"] == "plain line" and second["level"] == "warning"


def test_key_value_on_a_terminal() -> None:
    out = Tty()
    configure_logging("auto", stream=out)
    structlog.get_logger("t").info("call_ended", linkedid="pbx-1.0")
    line = out.getvalue()
    assert "call_ended" in line and "linkedid=pbx-1.0" in line and not line.startswith("{")
