"""Masking, translations (catalogue completeness, language choice) and local times."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from callcenter.web.app import duration, localtime_filter
from callcenter.web.auth import Principal
from callcenter.web.i18n import Catalogues, browser_language
from callcenter.web.masking import mask, mask_number

WEB = Path(__file__).resolve().parents[1] / "callcenter" / "web"
MINE = ["base.html", "login.html", "home.html", "wallboard/page.html", "wallboard/board.html",
        "users.html", "audit.html", "account.html"]
MSGID = re.compile(r"""_\(\s*(["'])([^"']+?)\1\s*[,)]""")


@pytest.mark.parametrize(("number", "masked"), [
    ("13812345678", "138****5678"), ("+8613812345678", "+86*******5678"),
    ("87654321", "****4321"), ("1001", "1001"), ("800", "800")])
def test_mask(number: str, masked: str) -> None:
    assert mask(number) == masked


def test_mask_number_by_role() -> None:
    def who(role: str) -> Principal:
        return Principal("u", role, "agent1001" if role == "agent" else None, "zh")

    assert mask_number("13812345678", who("agent")) == "13812345678"
    for role in ("admin", "supervisor", "qa"):
        assert mask_number("13812345678", who(role)) == "138****5678"
    assert mask_number(None, who("qa")) == ""


def test_every_msgid_of_the_web_package_has_a_chinese_translation() -> None:
    sources = [WEB / "templates" / name for name in MINE]
    sources += [WEB / name for name in ("pages.py", "users.py", "nav.py", "account.py")]
    sources.append(WEB.parent / "wallboard" / "web.py")
    msgids = {m.group(2) for path in sources for m in MSGID.finditer(path.read_text("utf-8"))}
    msgids |= {  # split over lines in pages.py, so MSGID does not see them
        ("Too many failed sign-ins for this account. Try again in %(minutes)d minutes, "
         "or ask an administrator to unlock it."),
        "Too many failed sign-ins from your address. Try again in %(minutes)d minutes."}
    msgids |= {"Wallboard", "Users", "Audit log", "admin", "supervisor", "qa", "agent",
               "available", "ringing", "on_call", "wrap_up", "paused", "unavailable",
               "logged_out", "agent_paused", "already_paused", "pause_failed",
               "recording_missing", "recording_corrupt", "recording_store_failed"}
    msgids |= set(re.findall(r'UserError\(\s*"([^"]+)"',
                             (WEB.parent / "store" / "users.py").read_text("utf-8")))
    assert len(msgids) > 90
    zh = Catalogues().translations("zh")
    missing = sorted(m for m in msgids if zh.gettext(m) == m)
    assert missing == []


def test_catalogue_formats_parameters_and_falls_back_to_english() -> None:
    cats = Catalogues()
    assert cats.gettext("zh")("Welcome, %(name)s", name="李") == "欢迎，李"
    assert cats.gettext("en")("Welcome, %(name)s", name="Li") == "Welcome, Li"
    assert cats.gettext("en")("on_call") == "on a call"
    assert cats.gettext("xx")("Sign in") == "Sign in"


@pytest.mark.parametrize(("header", "lang"), [
    ("zh-CN,zh;q=0.9,en;q=0.8", "zh"), ("en-US,en;q=0.9", "en"), ("fr-FR,en;q=0.5", "en"),
    ("fr-FR", "zh"), ("", "zh"), ("en;q=0.2,zh-TW;q=0.8", "zh"), ("en;q=bogus,zh", "zh")])
def test_browser_language(header: str, lang: str) -> None:
    assert browser_language(header, "zh") == lang


def test_localtime_and_duration_filters() -> None:
    shanghai = localtime_filter("Asia/Shanghai")
    t = datetime(2026, 12, 1, 16, 30, tzinfo=UTC)
    assert shanghai(t) == "2026-12-02 00:30:00"
    assert shanghai(t.isoformat(), "%H:%M") == "00:30"
    assert shanghai(t.replace(tzinfo=None)) == "2026-12-02 00:30:00"  # naive means UTC
    assert shanghai(None) == ""
    assert localtime_filter("Europe/Brussels")(t) == "2026-12-01 17:30:00"
    assert (duration(None), duration(5.4), duration(75), duration(3725)) == (
        "", "0:05", "1:15", "1:02:05")
