"""QA in tests: a week's stored calls, the reviewers, the shipped form, a queued and a
scored review."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from callcenter.calls.model import CallRecord
from callcenter.qa.sampling import (
    assign_week,
    sample_week,
)
from callcenter.settings import Settings
from callcenter.store.calls import CallRepository
from callcenter.store.qa import QaRepository
from callcenter.web.testing import web_client

MONDAY = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, week 2026-W48


WEEK = "2026-W48"


async def ensure_recordings(pool: asyncpg.Pool) -> None:
    """The recordings helper's table (migration 004), minimal, when it is not there yet."""
    await pool.execute(
        "CREATE TABLE IF NOT EXISTS recordings (server text NOT NULL, linkedid text NOT NULL,"
        " file_name text NOT NULL, status text NOT NULL, path text, duration_s double precision,"
        " call_started_at timestamptz NOT NULL, PRIMARY KEY (server, linkedid, file_name))")


async def add_call(pool: asyncpg.Pool, n: int, agent: str = "1001", *,
                   recording: str | None = "ready", at: datetime = MONDAY,
                   **kw: object) -> CallRecord:
    """Store a finished, answered call ``1.<n>`` of ``agent`` with a recording of that status."""
    start = at + timedelta(minutes=n)
    call = CallRecord(server="pbx1", linkedid=f"1.{n}", started_at=start, agent=agent,
                      queue="support", caller="13800000001", disposition="answered",
                      answered_at=start + timedelta(seconds=5),
                      ended_at=start + timedelta(seconds=125), **kw)  # type: ignore[arg-type]
    await CallRepository(pool).upsert_calls([call])
    if recording is not None:
        await ensure_recordings(pool)
        await pool.execute("INSERT INTO recordings (server, linkedid, file_name, status,"
                           " duration_s, call_started_at) VALUES ($1, $2, $3, $4, 120, $5)",
                           "pbx1", call.linkedid, f"{call.linkedid}.wav", recording, start)
    return call


SHIPPED = Path(__file__).resolve().parents[2] / "qa" / "forms" / "phone-reception.toml"


@dataclass(frozen=True)
class Who:
    username: str
    role: str
    agent: str | None = None


ANN = Who("ann", "qa")


BOB = Who("bob", "qa")


AGENT = Who("li", "agent", "1001")


OTHER_AGENT = Who("wang", "agent", "1002")


BOSS = Who("zhao", "supervisor")


FULL = {"standard_greeting": 1, "name_and_department": 1, "listen_without_interrupting": 4,
        "record_and_confirm": 3, "accurate_truthful": 4, "ask_other_questions": 1,
        "polite_close": 0, "no_rude_language": 1}


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def settings_for(forms_dir: Path | None = None) -> Settings:
    s = Settings()
    s.qa.random_per_agent_per_week = 5
    s.qa.inspectors = ["ann"]
    s.qa.forms_dir = str(forms_dir or SHIPPED.parent)
    return s


FEATURES = ("callcenter.qa.web",)


@pytest.fixture
def settings() -> Settings:
    s = Settings()
    s.web.secure_cookies = False
    s.web.default_language = "en"
    s.qa.random_per_agent_per_week = 5
    s.qa.inspectors = ["test_qa"]
    s.qa.forms_dir = str(SHIPPED.parent)
    return s


async def queued(pool: asyncpg.Pool, settings: Settings) -> int:
    """One call of agent1001 sampled and assigned to test_qa; its assignment id."""
    await add_call(pool, 1, "agent1001", hold_s=10.0)
    repo = QaRepository(pool)
    await sample_week(repo, settings, WEEK)
    await assign_week(repo, settings, WEEK)
    [entry] = await repo.work_queue("test_qa")
    return entry.assignment_id


def fields(csrf: str, scores: dict[str, Any], **extra: str) -> dict[str, str]:
    out = {"csrf_token": csrf, **extra}
    out.update({f"score.{k}": str(v) for k, v in scores.items()})
    return out


async def scored(pool: asyncpg.Pool, settings: Settings) -> int:
    """A submitted review (through the pages); its id."""
    aid = await queued(pool, settings)
    async with web_client(settings, pool, role="qa", features=FEATURES) as qa:
        resp = await qa.get(f"/qa/assignments/{aid}", allow_redirects=False)
        review_id = int(resp.headers["Location"].rsplit("/", 1)[1])
        resp = await qa.post(f"/qa/reviews/{review_id}", allow_redirects=False,
                             data=fields(qa.csrf, FULL, action="submit", comment="ok"))
        assert resp.status == 302
    return review_id
