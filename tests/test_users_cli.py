"""``callcenter user ...`` and the users repository against a real PostgreSQL."""

from __future__ import annotations

import asyncio
import io

import asyncpg
import pytest

from callcenter.cli import main
from callcenter.store.audit import AuditRepository
from callcenter.store.users import UserError, UserRepository
from callcenter.web.testing import FAST_HASHER


async def cli(monkeypatch: pytest.MonkeyPatch, dsn: str, *argv: str, stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return await asyncio.to_thread(main, ["user", *argv, "--dsn", dsn])


async def test_add_passwd_disable_enable_list(fresh_dsn: str, pool: asyncpg.Pool,
                                              monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert await cli(monkeypatch, fresh_dsn, "add", "li.ming", "--role", "agent", "--agent",
                     "agent1001", "--language", "zh", "--password-stdin",
                     stdin="first password\n") == 0
    users = UserRepository(pool)
    assert (await users.verify("li.ming", "first password")).agent == "agent1001"  # type: ignore[union-attr]
    assert await cli(monkeypatch, fresh_dsn, "passwd", "li.ming", "--password-stdin",
                     stdin="second password\n") == 0
    assert await users.verify("li.ming", "first password") is None
    assert await users.verify("li.ming", "second password") is not None
    assert await cli(monkeypatch, fresh_dsn, "disable", "li.ming") == 0
    assert await users.verify("li.ming", "second password") is None
    capsys.readouterr()
    assert await cli(monkeypatch, fresh_dsn, "list") == 0
    assert "li.ming   agent  agent1001  zh        disabled" in capsys.readouterr().out
    assert await cli(monkeypatch, fresh_dsn, "enable", "li.ming") == 0
    assert await users.verify("li.ming", "second password") is not None
    actions = [e.action for e in await AuditRepository(pool).entries(object="user:li.ming")]
    assert actions == ["user_enabled", "user_disabled", "password_changed", "user_added"]


@pytest.mark.parametrize(("argv", "stdin", "message"), [
    (("add", "bob", "--role", "agent", "--password-stdin"), "long enough\n", "needs its agent endpoint"),
    (("add", "bob", "--role", "qa", "--agent", "agent1001", "--password-stdin"),
     "long enough\n", "only agent users"),
    (("add", "bob b", "--role", "qa", "--password-stdin"), "long enough\n", "invalid username"),
    (("add", "bob", "--role", "qa", "--password-stdin"), "short\n", "at least 8 characters"),
    (("add", "bob", "--role", "qa"), "", "use --password-stdin"),
    (("passwd", "nobody", "--password-stdin"), "long enough\n", "no user named 'nobody'"),
    (("disable", "nobody"), "", "no user named 'nobody'"),
])
async def test_bad_input_is_a_clear_error(fresh_dsn: str, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str],
                                          argv: tuple[str, ...], stdin: str,
                                          message: str) -> None:
    assert await cli(monkeypatch, fresh_dsn, *argv, stdin=stdin) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


async def test_duplicates_are_refused(pool: asyncpg.Pool) -> None:
    users = UserRepository(pool, FAST_HASHER)
    await users.add("alice", "agent", "password1", agent="agent1001")
    with pytest.raises(UserError, match="username 'alice' is taken"):
        await users.add("alice", "qa", "password1")
    with pytest.raises(UserError, match="agent endpoint 'agent1001' already has a user"):
        await users.add("bob", "agent", "password1", agent="agent1001")


async def test_sessions_end_with_password_change_and_expire(pool: asyncpg.Pool) -> None:
    users = UserRepository(pool, FAST_HASHER)
    await users.add("alice", "qa", "password1")
    token, csrf = await users.create_session("alice", hours=1)
    session = await users.session(token)
    assert session is not None and session.csrf_token == csrf
    stored = await pool.fetchval("SELECT count(*) FROM web_sessions WHERE token_hash = $1",
                                 token.encode())
    assert stored == 0  # only the hash of the token is stored
    await users.set_password("alice", "password2")
    assert await users.session(token) is None
    old, _ = await users.create_session("alice", hours=1 / 3600 / 1000)
    await asyncio.sleep(0.01)
    assert await users.session(old) is None
    await users.create_session("alice", hours=1)
    assert await pool.fetchval("SELECT count(*) FROM web_sessions") == 1  # expired: deleted


async def test_api_token_works_as_a_bearer_without_csrf(fresh_dsn: str, pool: asyncpg.Pool,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    from callcenter.live import LiveConsumer
    from callcenter.settings import Settings
    from callcenter.web.app import CORE_FEATURES
    from callcenter.web.testing import web_client

    await UserRepository(pool, FAST_HASHER).add("boss", "supervisor", "password1")
    assert await cli(monkeypatch, fresh_dsn, "token", "boss", "--hours", "0") == 2
    assert "--hours" in capsys.readouterr().err
    assert await cli(monkeypatch, fresh_dsn, "token", "boss", "--hours", "2") == 0
    token = capsys.readouterr().out.strip()
    live = LiveConsumer.from_settings(Settings())
    async with web_client(Settings(), pool, role=None, live=live,
                          features=CORE_FEATURES) as client:
        bearer = {"Authorization": f"Bearer {token}"}
        assert (await client.get("/api/v1/live", headers=bearer)).status == 200
        assert (await client.get("/api/v1/live",
                                 headers={"Authorization": "Bearer forged"})).status == 401
        changed = await client.post("/language", data={"language": "en"}, headers=bearer,
                                    allow_redirects=False)
        assert changed.status == 302
    assert (await UserRepository(pool).get("boss")).language == "en"  # type: ignore[union-attr]
    assert [e.action for e in await AuditRepository(pool).entries(object="user:boss")] == [
        "api_token_issued"]
    await live.close()
