"""The QA monitoring sheet of a period: figures, calibration, CSV and XLSX export."""

from __future__ import annotations

import csv
import io

import asyncpg
import pytest
from openpyxl import load_workbook

from callcenter.qa.report import build_sheet, parse_period, to_csv, to_xlsx
from callcenter.qa.reviews import ReviewService
from callcenter.qa.sampling import SamplingError, assign_week, sample_week
from callcenter.qa.scoring import ItemScore
from callcenter.settings import Settings
from callcenter.store.qa import QaRepository
from tests.support.qa import AGENT, ANN, BOB, FULL, WEEK, Clock, add_call, settings_for

TZ = "Asia/Shanghai"


def test_parse_period() -> None:
    week = parse_period(WEEK, TZ)
    assert (week.end - week.start).days == 7
    month = parse_period("2026-11", TZ)
    assert month.start.isoformat() == "2026-10-31T16:00:00+00:00"
    assert month.end.isoformat() == "2026-11-30T16:00:00+00:00"
    day = parse_period("2026-11-23", TZ)
    assert (day.end - day.start).days == 1
    assert parse_period("2026-11-01..2026-11-03", TZ).end == parse_period("2026-11-03", TZ).end
    for bad in ("2026-13", "yesterday", "2026-11-05..2026-11-01", "2026-W99"):
        with pytest.raises(SamplingError):
            parse_period(bad, TZ)


def scores(**over: int) -> dict[str, ItemScore]:
    return {k: ItemScore(v) for k, v in {**FULL, **over}.items()}


@pytest.fixture
def settings() -> Settings:
    s = settings_for()
    s.qa.inspectors = ["ann", "bob"]
    s.qa.teams = {"north": ["1001"]}
    return s


async def test_sheet_figures_calibration_and_export(pool: asyncpg.Pool,
                                                    settings: Settings) -> None:
    clock = Clock()
    svc = ReviewService(pool, settings, clock=clock)
    for n in range(3):
        await add_call(pool, n, hold_s=10.0)
    await add_call(pool, 5, "1002", hold_s=10.0)
    repo = QaRepository(pool)
    await sample_week(repo, settings, WEEK)
    await assign_week(repo, settings, WEEK, calibration=1)  # call 1.0 to ann and bob
    totals = {}
    for who in (ANN, BOB):
        for e in await repo.work_queue(who.username):
            review = await svc.start(who, e.assignment_id)
            mine = scores(polite_close=0) if who is ANN else scores(polite_close=1)
            if e.linkedid == "1.5":
                mine = scores(no_rude_language=0)  # fatal
            done = await svc.save(who, review.id, mine, "c", submit=True)
            totals[(who.username, e.linkedid)] = done.row.total
    first = next(r for r in await svc.agent_reviews(AGENT))
    await svc.respond(AGENT, first.id, "disputed", "no")

    sheet = await build_sheet(svc, parse_period("2026-11", "UTC"))  # submitted 11-30 01:00Z
    assert len(sheet.reviews) == 5 and sheet.overall.reviews == 5
    by_agent = {f.name: f for f in sheet.agents}
    assert by_agent["1002"].fatal == 1 and by_agent["1002"].average == 0.0
    assert by_agent["1001"].reviews == 4 and by_agent["1001"].disputes == 1
    ann_close = sum(1 for (w, c) in totals if w == "ann" and c != "1.5")
    assert by_agent["1001"].failed["polite_close"] == ann_close  # ann never saw a polite close
    assert [t.name for t in sheet.teams] == ["north"] and sheet.teams[0].reviews == 4
    cal = {c.inspector: c for c in sheet.calibration}
    gap = totals[("bob", "1.0")] - totals[("ann", "1.0")]
    assert cal["bob"].calls == 1 and cal["bob"].bias_total == pytest.approx(gap, abs=0.01)
    assert cal["ann"].bias_total == pytest.approx(-gap, abs=0.01)
    assert cal["ann"].item_mean_abs("polite_close") == 100.0
    assert cal["ann"].item_mean_abs("standard_greeting") == 0.0

    rows = list(csv.reader(io.StringIO(to_csv(sheet, "zh", "UTC").decode("utf-8-sig"))))
    assert rows[0][:4] == ["提交时间", "服务器", "通话编号", "坐席"]
    assert "使用标准问候语：“您好，[公司名称]”" in rows[0] and rows[0][-1] == "评语"
    assert len(rows) == 6

    wb = load_workbook(io.BytesIO(to_xlsx(sheet, "en", "UTC")))
    assert wb.sheetnames == ["Reviews", "Agents", "Teams", "Calibration"]
    ws = wb["Reviews"]
    header = [c.value for c in ws[1]]
    col = header.index("Closed politely: \"感谢您的来电……再见\" (\"Thank you for calling … goodbye\")")
    fatal_row = next(r for r in ws.iter_rows(min_row=2, values_only=True) if r[2] == "1.5")
    assert fatal_row[3] == "1002" and fatal_row[6] == 0 and fatal_row[8] == "yes"
    assert fatal_row[header.index("Answered within three rings")] == "N/A"
    assert fatal_row[col] == 0 and fatal_row[header.index("Hold time within the limit")] == 1
    agents = [r for r in wb["Agents"].iter_rows(values_only=True)]
    assert agents[0][:3] == ("name", "reviews", "average")
    assert [r[0] for r in agents[1:]] == ["1001", "1002", "All agents"]
    rude = agents[0].index("No rude, insulting or threatening language at any time (fatal error)")
    assert agents[2][rude] == 100.0 and agents[1][rude] == 0.0
    cal_rows = list(wb["Calibration"].iter_rows(values_only=True))
    assert [r[0] for r in cal_rows[1:]] == ["ann", "bob"]
