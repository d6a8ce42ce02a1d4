"""The wallboard with an answer learnt from a bridge (answer time unknown): the agent's
"since" is unknown, not the resync time; the board says so in both languages."""

from __future__ import annotations

from pathlib import Path

import jinja2

from callcenter.calls.model import CallAnswered, CallRecord, CallStarted
from callcenter.kpis import LEFT_OUT
from callcenter.wallboard.web import percent
from callcenter.web.app import duration
from callcenter.web.i18n import Catalogues
from callcenter.web.words import labeller
from tests.support.live import Clock, answered_call, at, member, new_state

TEMPLATES = Path(__file__).parent.parent / "callcenter" / "web" / "templates"


def bridged() -> CallRecord:
    """In the call when the daemon resynced at 300 s; its answer was not seen."""
    c = answered_call("b1", 0, 10, 0)
    c.answered_at = c.ended_at = None
    c.disposition, c.hold_s = None, None
    c.ring_attempts = []
    c.unknown = ["wait", "answer", "ring_attempts", "talk", "hold"]
    return c


def render(board: dict[str, object], lang: str) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    env.filters.update(duration=duration, localtime=lambda v, fmt="": str(v))
    template = env.get_template("wallboard/board.html")
    gettext = Catalogues().gettext(lang)
    return template.render(board=board, _=gettext, label=labeller(gettext), percent=percent,
                           left_out=LEFT_OUT)


def test_answer_from_a_bridge_has_no_since() -> None:
    live = new_state(Clock(at(310)))
    call = bridged()
    live.apply([member("agent1001", "on_call", 300),
                CallStarted("pbx1", at(300), call), CallAnswered("pbx1", at(300), call, None)])
    agent = live.snapshot(lambda n: n or "")["agents"][0]
    assert agent["call"]["since"] is None and agent["since"] is None   # not 300 s
    assert agent["since_unknown"] is True
    html = render(live.snapshot(lambda n: n or ""), "zh")
    assert "未知" in html and 'data-since="' + at(300).isoformat() not in html


def test_a_seen_answer_keeps_its_since() -> None:
    live = new_state(Clock(at(60)))
    call = answered_call("a1", 0, 10, 0)
    call.ended_at = None
    live.apply([member("agent1001", "on_call", 10), CallStarted("pbx1", at(0), call),
                CallAnswered("pbx1", at(10), call, call.ring_attempts[0])])
    agent = live.snapshot(lambda n: n or "")["agents"][0]
    assert agent["call"]["since"] == at(10).isoformat() == agent["since"]


def test_board_says_what_is_left_out() -> None:
    live = new_state(Clock(at(2000)))
    ended = bridged()
    ended.ended_at, ended.disposition = at(400), "answered"
    live.seed([answered_call("k1", 0, 10, 110), answered_call("k2", 0, 10, 310), ended])
    board = live.snapshot(lambda n: n or "")
    assert board["total"]["aht_s"] == 200.0                     # (100 + 300) / 2, not / 3
    assert (board["total"]["talk_unknown"], board["total"]["wait_unknown"]) == (1, 1)
    assert board["total"]["asa_s"] == 10.0
    en, zh = render(board, "en"), render(board, "zh")
    assert "1 call(s) with unknown talk time left out of talk time and AHT" in en
    assert "1 call(s) with unknown wait time left out of ASA" in en
    assert "1 个电话的通话时间未知" in zh and "1 个未知" in zh
