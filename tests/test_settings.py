from pathlib import Path

import pytest

from callcenter.settings import SettingsError, load_settings


def test_defaults_give_a_fifteen_second_deadline() -> None:
    assert load_settings(env={}).ring.deadline_s == 15.0


def test_env_overrides_toml(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[ring]\ncycle_s = 4.0\n[[servers]]\nname = "pbx1"\n')
    s = load_settings(cfg, env={"CALLCENTER_RING__RINGS_ALLOWED": "4"})
    assert s.ring.deadline_s == 16.0
    assert s.servers[0].name == "pbx1"


def test_per_queue_override() -> None:
    s = load_settings(env={"CALLCENTER_QUEUES__SALES__CYCLE_S": "6"})
    assert s.ring_settings_for("sales").deadline_s == 18.0
    assert s.ring_settings_for("support").deadline_s == 15.0


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[ring\n", "line 1"),
        ("[ring]\ncycle_s = -1\n", "ring.cycle_s"),
        ("[ring]\nbogus = 1\n", "ring.bogus"),
        ('[[servers]]\nname="a"\n[[servers]]\nname="a"\n', "unique"),
    ],
)
def test_bad_config_names_the_problem(tmp_path: Path, text: str, needle: str) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    with pytest.raises(SettingsError) as err:
        load_settings(cfg, env={})
    assert needle in str(err.value)
    assert "bad.toml" in str(err.value)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="not found"):
        load_settings(tmp_path / "nope.toml", env={})


async def test_migrations_apply_once(pool) -> None:  # type: ignore[no-untyped-def]
    from callcenter import db

    async with pool.acquire() as conn:
        assert await db.migrate(conn) == []
        names = [r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")]
    assert names == [p.name for p in db.migration_files()]


def test_callcenter_config_names_the_toml_file(tmp_path: Path) -> None:
    cfg = tmp_path / "site.toml"
    cfg.write_text('[ring]\ncycle_s = 4.0\n[[servers]]\nname = "pbx1"\n')
    s = load_settings(env={"CALLCENTER_CONFIG": str(cfg), "CALLCENTER_RING__RINGS_ALLOWED": "4"})
    assert s.ring.deadline_s == 16.0  # the file's cycle, the environment's rings
    assert s.servers[0].name == "pbx1"


def test_callcenter_config_through_the_command_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from callcenter.cli import main

    cfg = tmp_path / "site.toml"
    cfg.write_text("[ring]\nrings_allowed = 4\n")  # 20 s against the shipped 15 s timeouts
    monkeypatch.setenv("CALLCENTER_CONFIG", str(cfg))
    dialplan = Path(__file__).resolve().parents[1] / "dialplan"
    assert main(["check-config", str(dialplan)]) == 1
    assert "is not the ring deadline 20 s" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["missing.toml", "."])
def test_callcenter_config_unreadable_is_one_line_naming_the_path(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        name: str) -> None:
    from callcenter.cli import main

    path = tmp_path / name
    monkeypatch.setenv("CALLCENTER_CONFIG", str(path))
    assert main(["check-config", "dialplan"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err and "CALLCENTER_CONFIG" in err
    assert "Traceback" not in err


def test_embedded_database_is_per_user_not_per_directory(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from any directory, a command finds the same embedded database and spool."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    monkeypatch.chdir(tmp_path)
    db = load_settings(None, env={}).database
    assert db.data_dir == str(tmp_path / "share" / "callcenter" / "pgdata")
    assert db.spool_dir == str(tmp_path / "share" / "callcenter" / "spool")
    conf = tmp_path / "c.toml"
    conf.write_text('[database]\nspool_dir = "~/spool"\n', encoding="utf-8")
    assert load_settings(conf, env={}).database.spool_dir == str(Path.home() / "spool")
