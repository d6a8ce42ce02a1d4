"""Numbers inside text (a recording's file name) are masked like the numbers themselves."""

from __future__ import annotations

from datetime import UTC, datetime

from callcenter.calls.model import CallRecord
from callcenter.web.auth import Principal
from callcenter.web.masking import mask_call_text, mask_in

CALL = CallRecord("pbx1", "1.1", datetime(2026, 12, 1, tzinfo=UTC), caller="+8613812345678",
                  callee="800")


def test_known_numbers_are_masked_in_a_file_name_and_nothing_else() -> None:
    name = "20261201-080000-13812345678-1733040000.12.wav"
    assert mask_in(name, ["13812345678"]) == "20261201-080000-138****5678-1733040000.12.wav"
    assert mask_in(name, ["+13812345678"]) == "20261201-080000-138****5678-1733040000.12.wav"
    assert mask_in(name, [None, "1001"]) == name  # extensions stay
    assert mask_in("a-+8613812345678.wav", ["+8613812345678"]) == "a-+86*******5678.wav"


def test_file_name_as_each_role_sees_it() -> None:
    name = "20261201-080000-+8613812345678-1.wav"
    assert mask_call_text(name, CALL, principal=Principal("li", "agent", "1001", "zh")) == name
    for role in ("qa", "supervisor", "admin"):
        shown = mask_call_text(name, CALL, principal=Principal("x", role, None, "zh"))
        assert "13812345678" not in shown and shown.endswith("5678-1.wav")
    assert "13812345678" not in mask_call_text(name, CALL, principal=None)


def test_a_call_row_works_like_a_record() -> None:
    row = {"caller": "+8613812345678", "callee": "800"}
    shown = mask_call_text("x-+8613812345678.wav", row, principal=None)
    assert shown == mask_call_text("x-+8613812345678.wav", CALL, principal=None)
