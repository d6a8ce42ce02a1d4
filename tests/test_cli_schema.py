"""Only ``migrate``, ``run`` and ``demo`` create or migrate the schema; every other command
leaves a database without it untouched, and every command refuses a newer schema."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import asyncpg
import pytest

from callcenter import db
from callcenter.cli import main

TRACE = Path(__file__).parent / "traces" / "real" / "inbound_answer_ring2.jsonl"

READ_COMMANDS = [
    ["calls"],
    ["calls", "--json", "--all"],
    ["report"],
    ["rebuild"],
    ["replay", str(TRACE)],
    ["user", "list"],
    ["user", "add", "bob", "--role", "qa", "--password-stdin"],
    ["qa", "sample"],
    ["qa", "assign"],
    ["qa", "queue"],
    ["qa", "report", "--period", "2026-11"],
    ["recordings", "purge", "--dry-run"],
    ["recordings", "hold", "pbx", "pbx-1.0"],
    ["recordings", "verify"],
]
"""Every store command but migrate, run and demo, with the arguments it needs."""

SNAPSHOT = """
SELECT 'class' AS kind, c.relname AS name FROM pg_class c
UNION ALL SELECT 'function', p.proname FROM pg_proc p
UNION ALL SELECT 'schema', n.nspname FROM pg_namespace n
UNION ALL SELECT 'type', t.typname FROM pg_type t
"""


async def catalog(dsn: str) -> set[tuple[str, str]]:
    """Every relation, function, schema and type name of the database."""
    conn = await asyncpg.connect(dsn)
    try:
        return {(r["kind"], r["name"]) for r in await conn.fetch(SNAPSHOT)}
    finally:
        await conn.close()


async def cli(monkeypatch: pytest.MonkeyPatch, *argv: str) -> int:
    """``callcenter argv`` in a thread (it runs its own loop), stdin giving a password."""
    monkeypatch.setattr("sys.stdin", io.StringIO("long enough password\n"))
    return await asyncio.to_thread(main, list(argv))


@pytest.fixture(autouse=True)
def _no_config(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CALLCENTER_CONFIG", "CALLCENTER_DSN"):
        monkeypatch.delenv(name, raising=False)


def one_line(err: str) -> str:
    """The single line printed (fails on more, or on a traceback)."""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


async def test_read_commands_leave_an_unrelated_database_untouched(
        bare_dsn: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    conn = await asyncpg.connect(bare_dsn)  # someone else's database
    await conn.execute("CREATE TABLE invoices (id int); "
                       "CREATE FUNCTION tax(x int) RETURNS int LANGUAGE sql AS 'SELECT x'")
    await conn.close()
    before = await catalog(bare_dsn)
    for argv in READ_COMMANDS:
        assert await cli(monkeypatch, *argv, "--dsn", bare_dsn) == 2, argv
        line = one_line(capsys.readouterr().err)
        assert "no callcenter schema" in line and "`callcenter migrate`" in line, (argv, line)
        assert await catalog(bare_dsn) == before, argv
    assert ("class", "schema_migrations") not in before


async def test_migrate_creates_what_the_read_commands_need(
        bare_dsn: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert await cli(monkeypatch, "calls", "--dsn", bare_dsn) == 2
    assert await cli(monkeypatch, "migrate", "--dsn", bare_dsn) == 0
    assert f"applied {len(db.migration_files())} migration(s)" in capsys.readouterr().out
    assert await cli(monkeypatch, "calls", "--dsn", bare_dsn, "--lang", "en") == 0
    assert "no calls yet" in capsys.readouterr().out


@pytest.fixture
async def newer_dsn(fresh_dsn: str) -> str:
    """A database a later callcenter migrated: one migration this code does not have."""
    conn = await asyncpg.connect(fresh_dsn)
    await conn.execute("INSERT INTO schema_migrations(name) VALUES ('999_from_the_future.sql')")
    await conn.close()
    return fresh_dsn


async def test_a_newer_schema_is_refused_by_every_command(
        newer_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "callcenter.toml"
    config.write_text('[[servers]]\nname = "pbx1"\nport = 1\n[database]\n'
                      f'data_dir = "{tmp_path / "pgdata"}"\n')
    monkeypatch.chdir(tmp_path)
    before = await catalog(newer_dsn)
    for argv in [["migrate"], ["run", "--no-web"], ["demo", "--for", "1"], *READ_COMMANDS]:
        assert await cli(monkeypatch, "--config", str(config), *argv, "--dsn", newer_dsn) == 2
        line = one_line(capsys.readouterr().err)
        assert "newer than this version of callcenter" in line, (argv, line)
        assert "999_from_the_future.sql" in line, (argv, line)
        assert await catalog(newer_dsn) == before, argv


async def test_an_older_schema_asks_for_migrate(fresh_dsn: str, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    last = db.migration_files()[-1].name
    conn = await asyncpg.connect(fresh_dsn)
    await conn.execute("DELETE FROM schema_migrations WHERE name = $1", last)
    await conn.close()
    assert await cli(monkeypatch, "calls", "--dsn", fresh_dsn) == 2
    line = one_line(capsys.readouterr().err)
    assert "older than this version" in line and last in line
    assert "`callcenter migrate`" in line


async def test_check_schema_passes_on_a_migrated_database(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await db.check_schema(conn)
