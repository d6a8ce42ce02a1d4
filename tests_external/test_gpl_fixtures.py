"""Cross-checks of the AMI parser on GPL-licensed public fixtures (opt-in).

The asterisk-testsuite expectations (GPL-2.0) and the wazo-call-logd CEL tables
(GPL-3.0-or-later) may not be copied into this MIT repository, so these tests read
them from ``../shared/ami-traces/public`` beside the checkout and are not part of
the default run. Run them with ``python -m pytest tests_external``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from callcenter.ami.protocol import AMIProtocol, Frame, chan_variables, serialize_frame
from tests.support.ami_frames import event_names, feed_chunks, parse_all

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """../shared, which this opt-in module needs; a clear failure when it is absent."""
    if not SHARED.is_dir():
        pytest.fail(f"{SHARED} is absent: these cross-checks read the GPL fixtures from there")
    yield SHARED


def _testsuite_frames(text: str) -> list[list[tuple[str, str]]]:
    """The AMI headers of each ``match:`` block (duplicates kept); requirement blocks
    extend the event block they follow."""
    frames: list[list[tuple[str, str]]] = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip() != "match:":
            continue
        indent = len(line) - len(line.lstrip())
        block = []
        for sub in lines[i + 1 :]:
            if len(sub) - len(sub.lstrip()) <= indent or not sub.strip():
                break
            key, _, value = sub.strip().partition(": ")
            block.append((key, value.strip().strip("'")))
        if block and block[0][0] == "Event":
            frames.append(block)
        elif frames:
            frames[-1].extend(block)
    return frames


def test_asterisk_testsuite_expectations_parse(shared_dir: Path) -> None:
    root = shared_dir / "ami-traces/public/asterisk-testsuite/tests"
    names: list[str] = []
    for path in sorted(root.rglob("test-config.yaml")):
        blocks = _testsuite_frames(path.read_text())
        for eol in (b"\r\n", b"\n"):
            data = b"".join(serialize_frame(b) for b in blocks).replace(b"\r\n", eol)
            proto, frames = parse_all(data)
            assert proto.errors == []
            assert event_names(frames) == [b[0][1] for b in blocks], path
        for block, frame in zip(blocks, frames):
            for key, value in block:
                got = frame[key]
                assert value == got or (isinstance(got, list) and value in got)
        names += event_names(frames)
        if path.parent.name == "manager_vars":
            varset = next(f for f in frames if f["Event"] == "VarSet")
            assert varset["ChanVariable"] == ["foo=bar", "does_not_exist="]
            assert chan_variables(varset) == {"foo": "bar", "does_not_exist": ""}
    assert {
        "AgentComplete",
        "BlindTransfer",
        "AttendedTransfer",
        "MixMonitorMute",
        "EndpointListComplete",
        "DialEnd",
    } <= set(names)


def _cel_frames(text: str) -> list[Frame]:
    """The rows of the psql pipe tables (one per ``###`` section, header first) as AMI
    ``CEL`` events, one field per column."""
    frames: list[Frame] = []
    header: list[str] = []
    for line in text.splitlines():
        if line.startswith("###"):
            header = []
        elif "|" in line and not header:
            header = [c.strip() for c in line.split("|")]
        elif "|" in line:
            row = dict(zip(header, (c.strip() for c in line.split("|", len(header) - 1))))
            frame: Frame = {"Event": "CEL", "Privilege": "call,all"}
            frame["EventName"] = row.pop("eventtype")
            frame.update((k, v) for k, v in row.items() if k)
            frames.append(frame)
    return frames


def test_wazo_cel_rows_as_ami_celevent_names(shared_dir: Path) -> None:
    frames: list[Frame] = []
    for path in sorted((shared_dir / "ami-traces/public/wazo-call-logd").rglob("*.raw_cels.txt")):
        frames += _cel_frames(path.read_text())
    assert len(frames) == 1607  # as SOURCES.md counts them
    data = b"".join(serialize_frame(f) for f in frames)
    proto = AMIProtocol()
    assert feed_chunks(proto, data, list(range(0, len(data), 4096))) == frames
    names = {f["EventName"] for f in frames}
    assert {"CHAN_START", "APP_START", "BRIDGE_ENTER", "MIXMONITOR_START", "LINKEDID_END"} <= names
