"""``callcenter qa``: sample, assign, queue, forms — output and input errors."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from callcenter.cli import main
from callcenter.store.audit import AuditRepository
from tests.support.qa import WEEK, add_call


async def cli(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


@pytest.fixture(autouse=True)
def _no_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CALLCENTER_CONFIG", raising=False)


async def test_sample_assign_queue(pool: asyncpg.Pool, fresh_dsn: str,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    for n in range(3):
        await add_call(pool, n)
    await add_call(pool, 9, hold_s=400.0)
    assert await cli("qa", "sample", "--week", WEEK, "--seed", "3", "--dry-run",
                     "--dsn", fresh_dsn) == 0
    dry = capsys.readouterr().out
    assert "would sample 3 of 4 calls" in dry and "pbx1/1.9  1001  long_hold" in dry
    assert await cli("qa", "sample", "--week", WEEK, "--seed", "3", "--dsn", fresh_dsn) == 0
    out = capsys.readouterr().out
    assert out.replace("sampled", "would sample") == dry  # the same draw
    assert await cli("qa", "sample", "--week", WEEK, "--seed", "3", "--dsn", fresh_dsn) == 0
    assert "sampled 0 of 4" in capsys.readouterr().out  # never the same call twice

    assert await cli("qa", "assign", "--inspectors", "ann,bob", "--dsn", fresh_dsn) == 0
    out = capsys.readouterr().out
    assert out.count("→ ann") == 2 and out.count("→ bob") == 1 and "assigned 3 calls" in out
    assert await cli("qa", "queue", "--inspector", "bob", "--dsn", fresh_dsn) == 0
    assert "1 open assignments" in capsys.readouterr().out
    actions = [e.action for e in await AuditRepository(pool).entries(actor="cli")]
    assert actions == ["qa_assigned", "qa_sampled", "qa_sampled"]


@pytest.mark.parametrize("argv, message", [
    (["qa", "sample", "--week", "2026-48"], "bad week '2026-48'"),
    (["qa", "sample", "--week", "2026-W60"], "has no week 60"),
    (["qa", "assign"], "no inspectors"),
    (["qa", "assign", "--inspectors", " , "], "--inspectors"),
    (["qa", "assign", "--calibration", "-1"], "--calibration"),
])
async def test_bad_input_exits_2(argv: list[str], message: str, fresh_dsn: str,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert await cli(*argv, "--dsn", fresh_dsn) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_forms_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["qa", "forms"]) == 0
    assert "phone-reception v1: 11 items" in capsys.readouterr().out
    (tmp_path / "bad.toml").write_text('id = "x"\nversion = 0\n', encoding="utf-8")
    monkeypatch.setenv("CALLCENTER_QA__FORMS_DIR", str(tmp_path))
    assert main(["qa", "forms"]) == 2
    assert f"{tmp_path / 'bad.toml'}:2: form: 'version'" in capsys.readouterr().err


async def test_report_and_export(fresh_dsn: str, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    xlsx, out_csv = tmp_path / "sheet.xlsx", tmp_path / "sheet.csv"
    assert await cli("qa", "report", "--period", WEEK, "--xlsx", str(xlsx), "--csv",
                     str(out_csv), "--lang", "en", "--dsn", fresh_dsn) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("name  reviews  average") and "All agents  0" in out
    assert xlsx.read_bytes()[:2] == b"PK"
    assert "Answered within three rings" in out_csv.read_text(encoding="utf-8-sig")
    assert await cli("qa", "report", "--period", "soon", "--dsn", fresh_dsn) == 2
    assert "bad period 'soon'" in capsys.readouterr().err
    assert await cli("qa", "report", "--period", WEEK, "--csv", str(tmp_path / "no" / "x.csv"),
                     "--dsn", fresh_dsn) == 2
    assert "cannot write" in capsys.readouterr().err
