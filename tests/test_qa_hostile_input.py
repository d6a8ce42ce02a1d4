"""Hostile input to QA: posted scores, comments and answers (huge strings, NUL bytes,
wrong values) get a 400 naming the item or field, never a 500; a form definition of the
wrong shape is a list of problems, never a crash."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from callcenter.qa.forms import FormError, form_from_definition
from callcenter.qa.web import SCORE_PROBLEM
from callcenter.settings import Settings
from callcenter.web.i18n import Catalogues
from callcenter.web.testing import web_client
from tests.support.qa import FEATURES, fields, queued, scored, settings

__all__ = ["settings"]  # the fixture

SHIPPED = Path(__file__).resolve().parents[1] / "qa" / "forms" / "phone-reception.toml"
HUGE = "x" * 100_000
NUL = "a\x00b"


async def test_hostile_review_posts_name_the_item_or_field(pool: asyncpg.Pool,
                                                           settings: Settings) -> None:
    aid = await queued(pool, settings)
    async with web_client(settings, pool, role="qa", features=FEATURES) as qa:
        url = (await qa.get(f"/qa/assignments/{aid}", allow_redirects=False)).headers["Location"]
        before = await pool.fetchval("SELECT scores FROM qa_reviews")
        for bad in (NUL, HUGE, "9" * 5000, "1.5", " na x"):
            resp = await qa.post(url, data=fields(qa.csrf, {"polite_close": bad}, action="save"))
            page = await resp.text()
            assert resp.status == 400 and '<tr class="bad" data-item="polite_close"' in page
            assert SCORE_PROBLEM.split("'")[0] in page, bad[:20]
        for extra in ({"comment.polite_close": HUGE}, {"reason.polite_close": NUL}):
            resp = await qa.post(url, data={**fields(qa.csrf, {"polite_close": 1}), **extra})
            assert resp.status == 400
            assert '<tr class="bad" data-item="polite_close"' in await resp.text()
        for comment in (HUGE, NUL):
            resp = await qa.post(url, data=fields(qa.csrf, {"polite_close": 1}, comment=comment))
            assert resp.status == 400 and "<li>Comment: " in await resp.text()
    assert await pool.fetchval("SELECT scores FROM qa_reviews") == before  # nothing saved


async def test_hostile_answers_and_resolutions_get_a_400(pool: asyncpg.Pool,
                                                         settings: Settings) -> None:
    review_id = await scored(pool, settings)
    async with web_client(settings, pool, role="agent", features=FEATURES) as agent:
        url = f"/qa/reviews/{review_id}/respond"
        for data in ({"response": "disputed", "response_comment": NUL},
                     {"response": "disputed", "response_comment": HUGE},
                     {"response": NUL, "response_comment": "x"}):
            resp = await agent.post(url, data={"csrf_token": agent.csrf, **data})
            assert resp.status == 400, data
        resp = await agent.post(url, allow_redirects=False, data={
            "csrf_token": agent.csrf, "response": "disputed", "response_comment": "unfair"})
        assert resp.status == 302
    async with web_client(settings, pool, role="supervisor", features=FEATURES) as boss:
        url = f"/qa/reviews/{review_id}/resolve"
        for data in ({"decision": "upheld", "resolution_comment": NUL},
                     {"decision": HUGE, "resolution_comment": "x"},
                     {"decision": "changed", "resolution_comment": "x",
                      "score.polite_close": NUL}):
            resp = await boss.post(url, data={"csrf_token": boss.csrf, **data})
            assert resp.status == 400, data
    row = await pool.fetchrow("SELECT response, resolution FROM qa_reviews WHERE id = $1",
                              review_id)
    assert (row["response"], row["resolution"]) == ("disputed", None)


def test_the_score_problem_has_its_chinese() -> None:
    assert Catalogues().gettext("zh")(SCORE_PROBLEM) != SCORE_PROBLEM


def _shipped() -> dict[str, Any]:
    return tomllib.loads(SHIPPED.read_text(encoding="utf-8"))


def _set(data: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(data)
    target: Any = out
    for step in path[:-1]:
        target = target[step]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return out


_DELETE = object()
ITEM = ("sections", 0, "items", 0)


@pytest.mark.parametrize(("path", "value", "problem"), [
    (("bands",), "x", "'bands' must be a non-empty array of tables"),
    (("bands",), [], "'bands' must be a non-empty array of tables"),
    (("bands", 0), 7, "'bands' must be a non-empty array of tables"),
    (("sections",), _DELETE, "'sections' must be a non-empty array of tables"),
    (("sections", 0, "items"), [None], "'items' must be a non-empty array of tables"),
    (("id",), None, "'id' must be a non-empty string"),
    (("id",), "a b", "id 'a b' may use only letters"),
    (("title_zh",), "   ", "'title_zh' must be a non-empty string"),
    (("title_en",), ["a"], "'title_en' must be a non-empty string"),
    (("version",), True, "'version' must be a whole number ≥ 1, not True"),
    (("version",), 0, "'version' must be a whole number ≥ 1, not 0"),
    (("bands", 0, "max"), "59", "'max' must be a whole number from 0 to 100"),
    (("bands", 0, "min"), 70, "min 70 is above max 59"),
    ((*ITEM, "weight"), "10", "weight must be a number above 0, not '10'"),
    ((*ITEM, "weight"), True, "weight must be a number above 0, not True"),
    ((*ITEM, "scale"), "0..0", "unknown scale '0..0'"),
    ((*ITEM, "scale"), "0..101", "unknown scale '0..101'"),
    ((*ITEM, "fatal"), "yes", "'fatal' must be true or false"),
    ((*ITEM, "pass_min"), 2, "pass_min must be a whole number from 1 to 1"),
    ((*ITEM, "pass_min"), 1.0, "pass_min must be a whole number"),
    ((*ITEM, "hold_limit_s"), 30, 'hold_limit_s is only for auto = "hold_under_limit"'),
    ((*ITEM, "text_zh"), "x\x00" * 50_000, None),  # long text is a form's own business
])
def test_a_definition_of_the_wrong_shape_is_a_problem(path: tuple[str | int, ...], value: Any,
                                                      problem: str | None) -> None:
    data = _set(_shipped(), path, value)
    if problem is None:
        assert form_from_definition(data).items[0].text_zh == value
        return
    with pytest.raises(FormError) as err:
        form_from_definition(data, "x.toml")
    assert len(err.value.problems) == 1, str(err.value)
    assert problem in err.value.problems[0].problem
