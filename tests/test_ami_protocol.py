"""AMI protocol: framing, decoding, edge cases, round-trips of real captures."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from callcenter.ami.protocol import (
    AMIProtocol,
    Frame,
    ProtocolError,
    chan_variables,
    parse_crlf_frames_c,
    parse_crlf_frames_py,
    serialize_action,
    serialize_frame,
)
from tests.conftest import TRACES, load_trace
from tests.support.ami_frames import event_names, feed_chunks, parse_all

CAPTURES = sorted(p for d in ("real", "real2", "enforce") for p in (TRACES / d).glob("*.jsonl"))


def sessions(path: Path) -> list[tuple[str | None, list[Frame]]]:
    """(banner, received frames) per AMI session of a capture."""
    out: list[tuple[str | None, list[Frame]]] = []
    for entry in load_trace(path):
        if "banner" in entry:
            out.append((entry["banner"], []))
        elif "frame" in entry:
            if not out:
                out.append((None, []))
            out[-1][1].append(entry["frame"])
    return out


def wire(banner: str | None, frames: list[Frame]) -> bytes:
    head = f"{banner}\r\n".encode() if banner else b""
    return head + b"".join(serialize_frame(f) for f in frames)


# --- real captures ------------------------------------------------------------------


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_capture_round_trips(path: Path) -> None:
    rng = random.Random(path.name)
    proto = AMIProtocol()
    found = sessions(path)
    assert found, path
    for banner, frames in found:  # ami_failed_login holds two sessions
        proto.reset()
        data = wire(banner, frames)
        cuts = [rng.randrange(len(data)) for _ in range(len(data) // 700 + 1)]
        assert feed_chunks(proto, data, cuts) == frames
        assert proto.banner == banner
        assert parse_all(data)[1] == frames
    assert proto.errors == []


def test_failed_login_capture_has_two_banners_and_reset_takes_each() -> None:
    found = sessions(TRACES / "real" / "ami_failed_login.jsonl")
    assert [b for b, _ in found] == ["Asterisk Call Manager/11.0.0"] * 2
    proto = AMIProtocol()
    # without reset(), a banner met between frames is still recognised and not a frame
    frames = proto.feed(b"".join(wire(b, f) for b, f in found))
    assert frames == [f for _, fs in found for f in fs]
    assert proto.banner == "Asterisk Call Manager/11.0.0"


SAMPLE = sessions(TRACES / "real" / "inbound_answer_ring2.jsonl")[0]
UNICODE_FRAME: Frame = {"Event": "UserEvent", "Name": "Zoë Müller 日本 🎧", "X": "€"}
SAMPLE_BYTES = wire(SAMPLE[0], SAMPLE[1][:60] + [UNICODE_FRAME] + SAMPLE[1][60:120])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, len(SAMPLE_BYTES)), max_size=40))
def test_any_chunking_of_a_capture_gives_the_same_frames(cuts: list[int]) -> None:
    proto = AMIProtocol()
    assert (
        feed_chunks(proto, SAMPLE_BYTES, cuts)
        == SAMPLE[1][:60] + [UNICODE_FRAME] + SAMPLE[1][60:120]
    )
    assert proto.errors == []


def test_multibyte_character_split_across_reads() -> None:
    data = serialize_frame(UNICODE_FRAME)
    at = data.index("🎧".encode()) + 2  # in the middle of the 4-byte character
    proto = AMIProtocol()
    assert proto.feed(data[:at]) == []
    assert proto.feed(data[at:]) == [UNICODE_FRAME]
    assert proto.errors == []


AMI_ISH = st.lists(
    st.sampled_from(
        [
            b"\r\n",
            b"\n",
            b"\r",
            b": ",
            b":",
            b"Event",
            b"Key",
            b"x",
            b" ",
            b"\xc3\xa9",
            b"\xc3",
            b"\xff",
            b"Response: Follows\r\n",
            b"--END COMMAND--\r\n",
            b"Asterisk Call Manager/2.1\r\n",
            b"ChanVariable: A=1",
            b"Output: y",
        ]
    ),
    max_size=60,
).map(b"".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(AMI_ISH, st.lists(st.integers(0, 400), max_size=12))
def test_fast_and_line_paths_agree_under_any_chunking(data: bytes, cuts: list[int]) -> None:
    whole = AMIProtocol().feed(data)
    assert feed_chunks(AMIProtocol(), data, cuts) == whole
    assert feed_chunks(AMIProtocol(), data, list(range(len(data)))) == whole


class LinePathOnly(AMIProtocol):
    """The line-by-line path alone: the reference that the fast path must agree with."""

    def _fast(self, buf: bytes, end: int, frames: list[Frame]) -> bool:
        return False


NOT_BUILT = "C accelerator not built (no C compiler at install, or CALLCENTER_NO_EXTENSIONS set)"
FAST_PATHS = [
    pytest.param(parse_crlf_frames_py, id="python"),
    pytest.param(parse_crlf_frames_c, id="c",
                 marks=pytest.mark.skipif(parse_crlf_frames_c is None, reason=NOT_BUILT)),
]


def with_fast_path(parse: Callable[[bytes, int], list[Frame] | None]) -> AMIProtocol:
    proto = AMIProtocol()
    proto._parse_crlf_frames = parse  # type: ignore[method-assign]
    return proto


@pytest.mark.parametrize("parse", FAST_PATHS)
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(AMI_ISH, st.lists(st.integers(0, 400), max_size=12))
@example(b"\rResponse: Follows\r\n\r\n", [])  # a CR before a Follows block
def test_fast_path_gives_what_the_line_path_gives(
    parse: Callable[[bytes, int], list[Frame] | None], data: bytes, cuts: list[int]
) -> None:
    assert feed_chunks(with_fast_path(parse), data, cuts) == feed_chunks(LinePathOnly(), data, cuts)


KEY_CHARS = st.characters(codec="utf-8", exclude_characters="\r\n")
FIELDS = st.lists(
    st.tuples(st.text(KEY_CHARS, max_size=60), st.text(KEY_CHARS, max_size=30)),
    min_size=1, max_size=8,
)


@pytest.mark.skipif(parse_crlf_frames_c is None, reason=NOT_BUILT)
@settings(max_examples=300, deadline=None)
@given(st.lists(FIELDS, max_size=6), st.integers(0, 8))
@example([[("", ""), ("", "")]], 0)  # "" is a shared object: the same value twice is still a repeat
def test_c_fast_path_is_the_python_one_on_any_keys(frames: list[list[tuple[str, str]]], cut: int) -> None:
    """Keys of any spelling and length (the C key cache is keyed on their bytes)."""
    assert parse_crlf_frames_c is not None
    data = "".join("".join(f"{k}: {v}\r\n" for k, v in f) + "\r\n" for f in frames).encode()
    for end in (data.rfind(b"\r\n\r\n"), max(0, len(data) - cut)):
        if end >= 0:
            assert parse_crlf_frames_c(data, end) == parse_crlf_frames_py(data, end)


@pytest.mark.parametrize("parse", FAST_PATHS)
@pytest.mark.parametrize(
    "region",
    [b"A: 1\nB: 2", b"A: 1\rB: 2", b"A: 1\r", b"A: 1\r\nB:2", b"A: 1\r\nkeyless",
     b"A: 1\r\n\r\nResponse: Follows\r\nx", b"A: caf\xc3", b"A\xff: 1"],
    ids=["bare-lf", "bare-cr", "trailing-cr", "no-space", "keyless", "follows", "cut-utf8", "bad-key"],
)
def test_fast_path_hands_anything_uncommon_to_the_line_path(
    parse: Callable[[bytes, int], list[Frame] | None], region: bytes
) -> None:
    assert parse(region, len(region)) is None


@pytest.mark.parametrize("parse", FAST_PATHS)
def test_fast_path_frames_and_repeated_keys(parse: Callable[[bytes, int], list[Frame] | None]) -> None:
    data = (b"Event: A\r\nChanVariable: x=1\r\nChanVariable: y=2\r\nChanVariable: z=3\r\n"
            b"Priority: 1\r\nPriority: 1\r\n\r\n"
            b"\r\n\r\nEvent: B\r\n: keyless value\r\nK: v: w\r\nResponse: Follows\r\n\r\nEvent: C")
    assert parse(data, data.rfind(b"\r\n\r\n")) == [
        {"Event": "A", "ChanVariable": ["x=1", "y=2", "z=3"], "Priority": ["1", "1"]},
        {"Event": "B", "": "keyless value", "K": "v: w", "Response": "Follows"},
    ]
    assert parse(data, len(data))[-1] == {"Event": "C"}  # type: ignore[index]
    assert parse(data, 0) == []


@pytest.mark.skipif(parse_crlf_frames_c is None, reason=NOT_BUILT)
def test_c_fast_path_refuses_an_end_past_the_buffer() -> None:
    assert parse_crlf_frames_c is not None
    for end in (-1, 5):
        with pytest.raises(ValueError, match="end out of range"):
            parse_crlf_frames_c(b"A: 1", end)


def test_no_extensions_variable_turns_the_c_parser_off() -> None:
    code = "from callcenter.ami import protocol as p; print(p.SPEEDUPS, p.parse_crlf_frames.__name__)"
    env = {**os.environ, "CALLCENTER_NO_EXTENSIONS": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "parse_crlf_frames_py"]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.lists(st.integers(0, 600), max_size=10), st.integers(4, 200))
def test_random_bytes_never_raise(data: bytes, cuts: list[int], limit: int) -> None:
    for proto in (AMIProtocol(), AMIProtocol(max_frame_bytes=limit)):
        try:
            frames = feed_chunks(proto, data, cuts)
        except ProtocolError:  # the only error type allowed (feed records instead of raising)
            continue
        assert all(isinstance(f, dict) for f in frames)
        assert all(isinstance(e, ProtocolError) for e in proto.errors)


# --- edge cases -----------------------------------------------------------------------


def test_banner_then_frames_and_reset_for_a_new_connection() -> None:
    proto = AMIProtocol()
    assert proto.feed(b"Asterisk Call Man") == []
    assert proto.banner is None
    assert proto.feed(b"ager/11.0.0\r\nResponse: Success\r\n") == []
    assert proto.banner == "Asterisk Call Manager/11.0.0"
    assert proto.feed(b"Message: Authentication accepted\r\n\r\n") == [
        {"Response": "Success", "Message": "Authentication accepted"}
    ]
    proto.feed(b"Event: Half")  # the connection drops mid-frame
    proto.reset()
    assert proto.banner is None
    assert proto.feed(b"Asterisk Call Manager/7.0.3\r\nEvent: FullyBooted\r\n\r\n") == [
        {"Event": "FullyBooted"}
    ]
    assert proto.banner == "Asterisk Call Manager/7.0.3"


def test_stanza_without_banner() -> None:
    proto, frames = parse_all(b"Response: Success\r\nMessage: Authentication accepted\r\n\r\n")
    assert proto.banner is None
    assert frames == [{"Response": "Success", "Message": "Authentication accepted"}]


@pytest.mark.parametrize("eol", [b"\r\n", b"\n"])
def test_crlf_and_bare_lf(eol: bytes) -> None:
    data = eol.join([b"Event: A", b"X: 1", b"", b"Event: B", b"", b""])
    assert parse_all(data)[1] == [{"Event": "A", "X": "1"}, {"Event": "B"}]


def test_mixed_line_ends_inside_a_crlf_stream() -> None:
    data = b"Event: A\nX: 1\r\n\r\nEvent: B\r\n\r\n"
    assert parse_all(data)[1] == [{"Event": "A", "X": "1"}, {"Event": "B"}]


def test_core_show_channel_map_terminator_does_not_merge_frames() -> None:
    data = (
        b"Event: CoreShowChannelMap\r\nChannel: PJSIP/a-1\r\nConnectedChannel: PJSIP/b-2\r\n\n"
        b"Event: CoreShowChannelMapComplete\r\nEventList: Complete\r\n\r\n"
    )
    for cuts in ([], list(range(len(data)))):
        assert feed_chunks(AMIProtocol(), data, cuts) == [
            {
                "Event": "CoreShowChannelMap",
                "Channel": "PJSIP/a-1",
                "ConnectedChannel": "PJSIP/b-2",
            },
            {"Event": "CoreShowChannelMapComplete", "EventList": "Complete"},
        ]


def test_values_with_colons_and_keys_without_space() -> None:
    data = (
        b"Event: Newexten\r\nAppData: Queue: support,,,,60\r\nContact:sip:1001@10.0.0.1:5060\r\n"
        b"Empty:\r\nBlank: \r\nTrailing: x  \r\n\r\n"
    )
    assert parse_all(data)[1] == [
        {
            "Event": "Newexten",
            "AppData": "Queue: support,,,,60",
            "Contact": "sip:1001@10.0.0.1:5060",
            "Empty": "",
            "Blank": "",
            "Trailing": "x  ",
        }
    ]


def test_repeated_keys_keep_every_value_in_order() -> None:
    data = (
        b"Event: Newchannel\r\nChanVariable: CUSTOMER_ID=42\r\nChanVariable: QUEUENAME=\r\n"
        b"Channel: PJSIP/a-1\r\nDestChanVariable: X=1\r\nChanVariable: MIXMON_FILE=/a:b.wav\r\n\r\n"
    )
    (frame,) = parse_all(data)[1]
    assert list(frame) == ["Event", "ChanVariable", "Channel", "DestChanVariable"]
    assert frame["ChanVariable"] == ["CUSTOMER_ID=42", "QUEUENAME=", "MIXMON_FILE=/a:b.wav"]
    assert chan_variables(frame) == {
        "CUSTOMER_ID": "42",
        "QUEUENAME": "",
        "MIXMON_FILE": "/a:b.wav",
    }
    assert chan_variables(frame, "DestChanVariable") == {"X": "1"}


def test_asterisk_11_chan_variable_form() -> None:
    data = (
        b"Event: Newexten\r\nChannel: IAX2/10.0.0.1:4569-9904\r\n"
        b"ChanVariable(IAX2/10.0.0.1:4569-9904): CUSTOMER_ID=42\r\n"
        b"ChanVariable(IAX2/10.0.0.1:4569-9904): QUEUENAME=support\r\n\r\n"
    )
    (frame,) = parse_all(data)[1]
    assert chan_variables(frame) == {"CUSTOMER_ID": "42", "QUEUENAME": "support"}


def test_response_follows_until_end_command() -> None:
    # Asterisk <= 13: raw CLI output, LF lines, a blank line inside (PAMI#88), ':' in the body
    data = (
        b"Response: Follows\r\nPrivilege: Command\r\nActionID: 7\r\n\n"
        b"Channel              Location  State   Application(Data)\n"
        b"System uptime: 46 minutes\n0 active channels\n--END COMMAND--\r\n\r\n"
        b"Event: After\r\n\r\n"
    )
    expected = [
        {
            "Response": "Follows",
            "Privilege": "Command",
            "ActionID": "7",
            "Output": [
                "",
                "Channel              Location  State   Application(Data)",
                "System uptime: 46 minutes",
                "0 active channels",
            ],
        },
        {"Event": "After"},
    ]
    for cuts in ([], list(range(len(data)))):
        assert feed_chunks(AMIProtocol(), data, cuts) == expected
    assert parse_all(serialize_frame(expected[0]))[1] == [expected[0]]


def test_output_lines_of_asterisk_14_and_later() -> None:
    data = (
        b"Response: Success\r\nActionID: 8\r\nMessage: Command output follows\r\n"
        b"Output: Name/username             Host\r\nOutput: 0 sip peers\r\n\r\n"
    )
    (frame,) = parse_all(data)[1]
    assert frame["Output"] == ["Name/username             Host", "0 sip peers"]


def test_not_utf8_is_replaced_logged_and_parsing_goes_on() -> None:
    seen: list[ProtocolError] = []
    proto = AMIProtocol(on_error=seen.append)
    frames = proto.feed(b"Event: A\r\nName: caf\xe9\r\n\r\nEvent: B\r\n\r\n")
    assert frames == [{"Event": "A", "Name": "caf\ufffd"}, {"Event": "B"}]
    assert len(proto.errors) == 1 and seen == proto.errors
    assert "UTF-8" in str(proto.errors[0])


@pytest.mark.parametrize("chunk", [1, 7, 10_000])
def test_over_long_frame_is_dropped_and_the_stream_resyncs(chunk: int) -> None:
    big = b"Event: Big\r\n" + b"X: " + b"y" * 500 + b"\r\n\r\n"
    data = b"Event: A\r\n\r\n" + big + b"Event: B\r\n\r\n"
    proto = AMIProtocol(max_frame_bytes=200)
    frames = feed_chunks(proto, data, list(range(0, len(data), chunk)))
    assert frames == [{"Event": "A"}, {"Event": "B"}]
    assert len(proto.errors) == 1 and "200 bytes" in str(proto.errors[0])


def _wide_frame(keys: int, repeat: bool = False) -> bytes:
    """An event of ``keys`` distinct keys (or one key repeated ``keys`` times)."""
    lines = (b"ChanVariable: x=1\r\n" * keys if repeat
             else b"".join(b"%x: 1\r\n" % i for i in range(keys)))
    return b"Event: Wide\r\n" + lines + b"\r\n"


@pytest.mark.parametrize("chunk", [7, 4096, 1 << 20])
@pytest.mark.parametrize(("keys", "repeat", "why"), [
    (512, False, "keys (over 512)"), (9000, True, "lines")])  # whole, or while arriving
def test_frame_over_the_key_or_line_cap_is_dropped_and_counted(
        chunk: int, keys: int, repeat: bool, why: str) -> None:
    seen: list[ProtocolError] = []
    proto = AMIProtocol(on_error=seen.append)
    data = b"Event: A\r\n\r\n" + _wide_frame(keys, repeat) + b"Event: B\r\nX: 1\r\n\r\n"
    frames = feed_chunks(proto, data, list(range(0, len(data), chunk)))
    assert frames == [{"Event": "A"}, {"Event": "B", "X": "1"}]
    assert proto.dropped_frames == proto.error_count == 1 and why in str(seen[0])


def test_frames_at_the_caps_pass() -> None:
    proto = AMIProtocol()
    (wide,) = proto.feed(_wide_frame(511))
    (long,) = proto.feed(_wide_frame(8191, repeat=True))
    assert len(wide) == 512 and len(long["ChanVariable"]) == 8191
    assert proto.dropped_frames == 0


def test_a_flood_of_bad_frames_is_logged_once_per_hundred() -> None:
    proto = AMIProtocol(max_frame_keys=2)
    bad = b"Event: X\r\nA: 1\r\nB: 2\r\n\r\n"
    with capture_logs() as logs:
        assert proto.feed(bad * 250 + b"Event: Y\r\n\r\n") == [{"Event": "Y"}]
    assert proto.dropped_frames == 250
    assert [e["errors"] for e in logs if e["event"] == "ami_protocol_error"] == [1, 100, 200]


def test_endless_garbage_is_bounded() -> None:
    proto = AMIProtocol(max_frame_bytes=1000)
    for _ in range(100):
        assert proto.feed(b"z" * 999) == []
    assert len(proto._buf) <= 1001
    assert proto.feed(b"\r\n\r\nEvent: Back\r\n\r\n") == [{"Event": "Back"}]
    assert len(proto.errors) == 1


def test_serialize_action_lists_and_injection() -> None:
    assert serialize_action({"Action": "Originate", "Variable": ["A=1", "B=2"]}) == (
        b"Action: Originate\r\nVariable: A=1\r\nVariable: B=2\r\n\r\n"
    )
    assert serialize_action([("Action", "Ping"), ("ActionID", "1")]) == (
        b"Action: Ping\r\nActionID: 1\r\n\r\n"
    )
    bad_ones = (
        {"Action": "Ping\r\nAction: Logoff"}, {"Bad\nKey": "x"}, {"": "x"}, {"A: b": "c"},
        {"Action": "Ping\r"}, {"Action": "Originate", "Variable": ["A=1", "B=\n2"]},
    )
    for bad in bad_ones:
        with pytest.raises(ProtocolError):
            serialize_action(bad)


# --- public MIT fixtures from other projects (tests/traces/public, with their licences) -----

EVENT_LINE = re.compile(r"^Event: (.+?)\r?$", re.MULTILINE)
PUBLIC = TRACES / "public"


def test_panoramisk_fixtures_give_the_events_their_files_show() -> None:
    fixtures = sorted((PUBLIC / "panoramisk/tests/fixtures").glob("*.yaml"))
    assert len(fixtures) == 17
    parsed: dict[str, list[Frame]] = {}
    for path in fixtures:
        raw = path.read_bytes()  # LF line ends, as published
        crlf = raw.replace(b"\n", b"\r\n")
        proto, frames = parse_all(raw + b"\n\n")
        assert proto.errors == [], path.name
        assert parse_all(crlf + b"\r\n\r\n")[1] == frames, path.name
        rng = random.Random(path.name)
        cuts = [rng.randrange(len(crlf)) for _ in range(20)]
        assert feed_chunks(AMIProtocol(), crlf + b"\r\n\r\n", cuts) == frames, path.name
        assert event_names(frames) == EVENT_LINE.findall(raw.decode()), path.name
        parsed[path.stem] = frames
    counts = {
        k: (
            len(event_names(v)),
            sum("Response" in f for f in v),
            sum("Action" in f or "action" in f for f in v),
        )
        for k, v in parsed.items()
    }
    assert counts["agent_loggued_in"] == (145, 8, 9)  # as SOURCES.md counts them
    assert counts["agent_not_in_pause"][0] == 61
    assert counts["originate_with_events"][0] == 748
    version = parsed["command_core_show_version"][1]
    assert version["Response"] == "Follows" and str(version["Output"]).startswith(
        "Asterisk 11.11.0"
    )
    assert parsed["rasterisk_command"][1]["Output"] == [
        "Channel              Location             State   Application(Data)             ",
        "0 active channels",
        "0 active calls",
        "2 calls processed",
    ]
    assert (
        parse_all(
            (PUBLIC / "panoramisk/tests/fixtures/login_ok.yaml").read_bytes()
        )[0].banner
        == "Asterisk Call Manager/1.3"
    )
    assert parsed["login_md5"][1]["Challenge"] == "145769581"
    assert len(parsed["sip_notify"][0]["Variable"]) == 7
    queue = event_names(parsed["queue_status"])
    assert queue[0] == "QueueParams" and queue[-1] == "QueueStatusComplete"
    endpoint = parsed["pjsip_show_endpoint"]
    assert endpoint[0]["EventList"] == "start" and event_names(endpoint)[-1] == "EndpointDetailComplete"
    assert parsed["logoff"][-1]["Response"] == "Goodbye"


def test_ruby_ami_lexer_cases() -> None:
    yaml = pytest.importorskip("yaml")
    base = PUBLIC / "ruby_ami/features"
    fixtures = yaml.safe_load((base / "support/ami_fixtures.yml").read_text())
    stanzas = [
        fixtures[":login"][":standard"][":success"],
        fixtures[":login"][":standard"][":fail"],
        fixtures[":errors"][":missing_action"],
        *fixtures[":pong"].values(),
    ]
    data = b"Asterisk Call Manager/1.0\r\n" + b"".join(
        serialize_frame({k: str(v) for k, v in s.items()}) for s in stanzas
    )
    proto = AMIProtocol()
    assert feed_chunks(proto, data, list(range(0, len(data), 3))) == [
        {k: str(v) for k, v in s.items()} for s in stanzas
    ]
    assert proto.banner == "Asterisk Call Manager/1.0"
    # the feature's "immediate response" texts: plain lines, kept as Output, never an error
    texts = re.findall(
        r'an immediate response with text "(.*)"', (base / "lexer.feature").read_text()
    )
    assert len(texts) >= 3
    for text in texts:
        body = text.encode().decode("unicode_escape").rstrip("\r\n").encode()
        proto, frames = parse_all(b"Response: Pong\r\n\r\n" + body + b"\r\n\r\n")
        assert frames[0] == {"Response": "Pong"} and proto.errors == []
        assert all(v for f in frames[1:] for v in f.values())


def test_error_list_stays_bounded_on_a_noisy_link() -> None:
    proto = AMIProtocol()
    for _ in range(300):
        proto.feed(b"Event: Bad\r\nX: \xff\r\n\r\n")
    assert proto.error_count == 300 and len(proto.errors) == 100


def test_a_value_that_looks_like_a_banner_is_still_a_value() -> None:
    # found by hypothesis: only a keyless line can be a banner
    data = b"Output: yAsterisk Call Manager/2.1\r\n\r\nEvent: X\r\n\r\n"
    expected = [{"Output": "yAsterisk Call Manager/2.1"}, {"Event": "X"}]
    for cuts in ([], [38], list(range(len(data)))):
        assert feed_chunks(AMIProtocol(), data, cuts) == expected
