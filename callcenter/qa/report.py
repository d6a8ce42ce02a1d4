"""The monitoring sheet of a period: reviews, per agent and team figures, calibration.

Figures count submitted reviews by submission time. An item *fails* when scored
below its ``pass_min``; its failure rate is failed ÷ reviews where it applied
(N/A and unscored items do not count). Calibration compares inspectors who
scored the same call: each inspector's total (and each item, as a share of its
maximum) minus the mean of the other inspectors on that call.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from statistics import fmean
from typing import Any
from zoneinfo import ZoneInfo

from callcenter.qa.forms import Item
from callcenter.qa.reviews import Review, ReviewService
from callcenter.qa.sampling import SamplingError, week_bounds
from callcenter.web.i18n import Gettext, gettext_for
from callcenter.web.sheets import workbook
from callcenter.web.words import labeller

_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
MAX_DAYS = 366


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC; ``label`` as given (2026-W48, 2026-11, 2026-11-01..2026-11-15)."""

    label: str
    start: datetime
    end: datetime


def _midnight(day: date, tz: str) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def parse_period(text: str, tz: str) -> Period:
    """A week (2026-W48), month (2026-11), day (2026-11-23) or range (A..B) of local days."""
    text = text.strip()
    if "-W" in text:
        return Period(text, *week_bounds(text, tz))
    try:
        if ".." in text:
            a, b = text.split("..", 1)
            first, last = date.fromisoformat(a), date.fromisoformat(b)
        elif m := _MONTH_RE.match(text):
            first = date(int(m.group(1)), int(m.group(2)), 1)
            last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        else:
            first = last = date.fromisoformat(text)
    except ValueError:
        raise SamplingError(f"bad period {text!r}: use 2026-W48, 2026-11, 2026-11-23 or "
                            "2026-11-01..2026-11-15") from None
    if last < first or (last - first).days >= MAX_DAYS:
        raise SamplingError(f"bad period {text!r}: the end is before the start or the range "
                            f"is over {MAX_DAYS} days")
    return Period(text, _midnight(first, tz), _midnight(last + timedelta(days=1), tz))


@dataclass
class Figures:
    """Totals of a group of reviews (an agent, a team, everyone)."""

    name: str
    reviews: int = 0
    total_sum: float = 0.0
    fatal: int = 0
    disputes: int = 0
    changed: int = 0
    applied: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)

    @property
    def average(self) -> float | None:
        """Mean total (0–100), None without reviews."""
        return round(self.total_sum / self.reviews, 2) if self.reviews else None

    def failure_rate(self, item_id: str) -> float | None:
        """Share (0–1) of the reviews where the item applied in which it failed."""
        n = self.applied.get(item_id, 0)
        return self.failed.get(item_id, 0) / n if n else None

    def add(self, review: Review) -> None:
        row, result = review.row, review.result
        self.reviews += 1
        self.total_sum += row.total or 0.0
        self.fatal += bool(result.fatal_failed)
        self.disputes += row.response == "disputed"
        self.changed += row.resolution == "changed"
        for item_id in result.per_item:
            self.applied[item_id] = self.applied.get(item_id, 0) + 1
        for item_id in result.failed:
            self.failed[item_id] = self.failed.get(item_id, 0) + 1


@dataclass
class Calibration:
    """How far one inspector scores from the others on the calls they all scored."""

    inspector: str
    calls: int = 0
    total_deltas: list[float] = field(default_factory=list)
    item_deltas: dict[str, list[float]] = field(default_factory=dict)

    @property
    def mean_abs_total(self) -> float | None:
        """Mean |own total − others' mean| in points."""
        return round(fmean(abs(d) for d in self.total_deltas), 2) if self.total_deltas else None

    @property
    def bias_total(self) -> float | None:
        """Mean own total − others' mean in points (> 0: scores higher than the others)."""
        return round(fmean(self.total_deltas), 2) if self.total_deltas else None

    def item_mean_abs(self, item_id: str) -> float | None:
        """Mean |difference| of an item, in % of its maximum."""
        d = self.item_deltas.get(item_id)
        return round(100 * fmean(abs(x) for x in d), 1) if d else None


@dataclass
class Sheet:
    """The monitoring sheet of a period."""

    period: Period
    items: list[Item]
    reviews: list[Review]
    overall: Figures
    agents: list[Figures]
    teams: list[Figures]
    calibration: list[Calibration]


def columns(reviews: Iterable[Review], current: Sequence[Item]) -> list[Item]:
    """Items of the current form in sheet order, then those only older versions have."""
    out = list(current)
    seen = {i.id for i in out}
    for r in reviews:
        for item in r.form.items:
            if item.id not in seen:
                seen.add(item.id)
                out.append(item)
    return out


def calibrate(reviews: Iterable[Review]) -> list[Calibration]:
    """Per inspector, differences from the others on calls scored by two or more inspectors."""
    by_call: dict[tuple[str, str], list[Review]] = {}
    for r in reviews:
        by_call.setdefault((r.row.server, r.row.linkedid), []).append(r)
    out: dict[str, Calibration] = {}
    for group in by_call.values():
        if len({r.row.inspector for r in group}) < 2:
            continue
        for r in group:
            others = [o for o in group if o is not r]
            cal = out.setdefault(r.row.inspector, Calibration(r.row.inspector))
            cal.calls += 1
            cal.total_deltas.append((r.row.total or 0.0) - fmean(o.row.total or 0.0
                                                                 for o in others))
            for item in r.form.items:
                mine = _share(r, item.id)
                theirs = [s for s in (_share(o, item.id) for o in others) if s is not None]
                if mine is not None and theirs:
                    cal.item_deltas.setdefault(item.id, []).append(mine - fmean(theirs))
    return sorted(out.values(), key=lambda c: c.inspector)


def _share(review: Review, item_id: str) -> float | None:
    s = review.scores.get(item_id)
    if s is None or s.value is None:
        return None
    return s.value / review.form.item(item_id).max_score


async def build_sheet(svc: ReviewService, period: Period) -> Sheet:
    """The sheet of ``period`` from the submitted reviews (teams from ``qa.teams``)."""
    reviews = [svc.review_of(r) for r in await svc.repo.submitted_between(period.start,
                                                                           period.end)]
    overall = Figures(OVERALL)
    agents: dict[str, Figures] = {}
    teams = {name: Figures(name) for name in svc.settings.qa.teams}
    team_of = {a: t for t, members in svc.settings.qa.teams.items() for a in members}
    for r in reviews:
        overall.add(r)
        agents.setdefault(r.row.agent, Figures(r.row.agent)).add(r)
        if r.row.agent in team_of:
            teams[team_of[r.row.agent]].add(r)
    return Sheet(period, columns(reviews, svc.current_form().items), reviews, overall,
                 sorted(agents.values(), key=lambda f: f.name),
                 [t for t in teams.values() if t.reviews], calibrate(reviews))


# ---------------------------------------------------------------- export

REVIEW_HEADER = ("Submitted", "Server", "Linkedid", "Agent", "Inspector", "Form", "Total",
                 "Grade", "Fatal error", "Agent's answer", "Resolution")
FIGURES_HEADER = ("name", "reviews", "average", "fatal errors", "disputes",
                  "changed on dispute")
"""Column headers (English msgids, written in the export's language)."""
OVERALL = "All agents"
"""The name of the row of every review (an English msgid)."""


def _cell(review: Review, item: Item, _: Gettext) -> Any:
    s = review.scores.get(item.id)
    if s is None or not s.scored:
        return ""
    return _("N/A") if s.na else s.value


def _grade(review: Review, lang: str) -> str:
    band = next((b for b in review.form.bands if b.id == review.row.grade), None)
    if band is None:
        return review.row.grade or ""
    return band.label_zh if lang == "zh" else band.label_en


def review_rows(sheet: Sheet, lang: str, tz: str) -> list[list[Any]]:
    """The reviews as rows under a header: fixed columns, one per item, the comment;
    headers and words in ``lang``."""
    zone, _ = ZoneInfo(tz), gettext_for(lang)
    label = labeller(_)
    rows: list[list[Any]] = [[*(_(h) for h in REVIEW_HEADER),
                              *(i.text(lang) for i in sheet.items), _("Comment")]]
    for r in sheet.reviews:
        row = r.row
        assert row.submitted_at is not None
        rows.append([row.submitted_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"), row.server,
                     row.linkedid, row.agent, row.inspector,
                     _("%(form)s (version %(version)s)", version=row.form_version,
                       form=r.form.title_zh if lang == "zh" else r.form.title_en),
                     row.total, _grade(r, lang),
                     label("yes_no", bool(row.fatal)), label("qa", row.response),
                     label("qa", row.resolution), *(_cell(r, i, _) for i in sheet.items),
                     row.comment])
    return rows


def figure_rows(groups: Sequence[Figures], items: Sequence[Item], lang: str
                ) -> list[list[Any]]:
    """Per group: counts, average and each item's failure rate (%) under a header."""
    _ = gettext_for(lang)
    rows: list[list[Any]] = [[*(_(h) for h in FIGURES_HEADER), *(i.text(lang) for i in items)]]
    for g in groups:
        rates = [g.failure_rate(i.id) for i in items]
        rows.append([_(OVERALL) if g.name == OVERALL else g.name, g.reviews, g.average, g.fatal, g.disputes, g.changed,
                     *("" if x is None else round(100 * x, 1) for x in rates)])
    return rows


def calibration_rows(cals: Sequence[Calibration], items: Sequence[Item], lang: str
                     ) -> list[list[Any]]:
    """Per inspector: calls, mean |Δ total|, bias, and each item's mean |Δ| (% of max)."""
    _ = gettext_for(lang)
    rows: list[list[Any]] = [[*(_(h) for h in ("inspector", "calls", "mean |Δ total|", "bias")),
                              *(i.text(lang) for i in items)]]
    for c in cals:
        rows.append([c.inspector, c.calls, c.mean_abs_total, c.bias_total,
                     *("" if (x := c.item_mean_abs(i.id)) is None else x for i in items)])
    return rows


def to_csv(sheet: Sheet, lang: str, tz: str) -> bytes:
    """The reviews as CSV (UTF-8 with a BOM, so that spreadsheet programs read Chinese)."""
    buf = io.StringIO()
    csv.writer(buf).writerows(review_rows(sheet, lang, tz))
    return buf.getvalue().encode("utf-8-sig")


def to_xlsx(sheet: Sheet, lang: str, tz: str) -> bytes:
    """A workbook: Reviews, Agents, Teams, Calibration (one header row each), in ``lang``."""
    _ = gettext_for(lang)
    return workbook([
        (_("Reviews"), review_rows(sheet, lang, tz)),
        (_("Agents"), figure_rows([*sheet.agents, sheet.overall], sheet.items, lang)),
        (_("Teams"), figure_rows(sheet.teams, sheet.items, lang)),
        (_("Calibration"), calibration_rows(sheet.calibration, sheet.items, lang))])
