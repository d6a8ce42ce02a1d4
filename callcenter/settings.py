"""The one typed settings object: a TOML file, then ``CALLCENTER_*`` variables.

Precedence (lowest first): defaults, the TOML file, environment variables.
Environment variables name a key by its section path joined with ``__``
(``CALLCENTER_RING__CYCLE_S=4``); ``CALLCENTER_DSN`` is a shortcut for
``database.dsn``; ``CALLCENTER_CONFIG`` names the TOML file when no path is
given (it is not a key). Every validation error names the offending key.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator


class SettingsError(Exception):
    """A configuration problem, with a message that names the key or file."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AmiServer(_Section):
    """One Asterisk server reached over AMI."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    host: str = "127.0.0.1"
    port: int = Field(default=5038, ge=1, le=65535)
    username: str = "callcenter"
    secret: str = ""
    auth: Literal["plain", "md5"] = "plain"
    ping_interval_s: float = Field(default=10.0, gt=0)
    ping_timeout_s: float = Field(default=5.0, gt=0)
    action_timeout_s: float = Field(default=10.0, gt=0)
    reconnect_min_s: float = Field(default=0.5, gt=0)
    reconnect_max_s: float = Field(default=30.0, gt=0)
    cel_table: str = Field(default="cel", pattern=r"^([A-Za-z_][A-Za-z0-9_]*)?$")
    """The table this PBX's ``cel_pgsql`` writes into, in the callcenter database (``""``:
    this PBX writes no CEL, outages are not filled). Several PBXs: one table each."""


def user_data_dir() -> Path:
    """The per-user directory of the embedded database, the spool and the demo's files
    (``$XDG_DATA_HOME/callcenter``, by default ``~/.local/share/callcenter``): the same
    from whatever directory a command runs."""
    import platformdirs

    return Path(platformdirs.user_data_dir("callcenter", appauthor=False))


class DatabaseSettings(_Section):
    """PostgreSQL. An empty ``dsn`` means the embedded server in ``data_dir``."""

    dsn: str = ""
    data_dir: str = Field(default_factory=lambda: str(user_data_dir() / "pgdata"))
    spool_dir: str = Field(default_factory=lambda: str(user_data_dir() / "spool"))

    @field_validator("data_dir", "spool_dir")
    @classmethod
    def _home(cls, value: str) -> str:
        return os.path.expanduser(value)
    batch_size: int = Field(default=500, ge=1)
    batch_delay_s: float = Field(default=0.02, ge=0)
    queue_size: int = Field(default=2000, ge=1)
    """Bound of each ingest queue (entries): a full queue stops reading the AMI socket."""
    queue_max_mb: int = Field(default=64, ge=1)
    """Bound of each ingest queue in bytes (MiB) as well: large frames stop reading sooner."""
    write_timeout_s: float = Field(default=10.0, gt=0)
    """A database write taking longer counts as an outage: it goes to the spool."""
    spool_max_mb: int = Field(default=1024, ge=1)
    """Bound of the spool on disk (MiB); past it, writes are held in memory."""
    memory_max_mb: int = Field(default=64, ge=1)
    """Bound of what is held in memory when neither the database nor the spool takes
    writes (MiB); past it, data is dropped and recorded as a journal gap."""
    durable_queue_entries: int = Field(default=50_000, ge=100)
    """Bound of each server's durable-path queue (journal entries waiting to be written)."""
    journal_retention_months: int = Field(default=0, ge=0)
    """Full UTC months of journal kept before the current one (0: kept forever); older
    months are dropped (or detached) by the daemon once an hour and by ``callcenter journal
    prune``, never one holding an entry of a call still open."""
    journal_retention_action: Literal["drop", "detach"] = "drop"
    """What retention does to an old month: ``drop`` it, or ``detach`` it (it stays as a
    table of its own, ``journal_yYYYYmMM``, for the operator to archive and drop)."""


class RingRuleSettings(_Section):
    """The three-ring rule: rings allowed × ring cycle = the answer deadline."""

    cycle_s: float = Field(default=5.0, gt=0)
    rings_allowed: int = Field(default=3, ge=1)
    on_deadline: Literal["hangup", "redirect", "record"] = "hangup"
    direct_action: Literal["redirect", "hangup", "record"] = "redirect"
    fallback_context: str = "from-trunk"
    fallback_priority: str = "toqueue"
    misses_before_pause: int = Field(default=2, ge=0)
    pause_reason: str = "ring-no-answer"
    queues_conf: str = ""
    """Optional path of the PBX's queues.conf, checked against the rule at start."""

    @property
    def deadline_s(self) -> float:
        """Seconds of ringing allowed before the rule is broken."""
        return self.cycle_s * self.rings_allowed


class QueueOverride(_Section):
    """Per-queue overrides of the ring rule and retention."""

    cycle_s: float | None = Field(default=None, gt=0)
    rings_allowed: int | None = Field(default=None, ge=1)
    on_deadline: Literal["hangup", "record"] | None = None
    retention_days: int | None = Field(default=None, ge=1)


class RecordingSettings(_Section):
    """Where MixMonitor writes, where we file recordings, and for how long."""

    store_dir: str = "recordings"
    asterisk_dir: str = "/var/spool/asterisk/monitor"
    local_dir: str = "/var/spool/asterisk/monitor"
    retention_days: int = Field(default=365, ge=1)
    stable_wait_s: float = Field(default=1.0, ge=0)
    max_wait_s: float = Field(default=30.0, ge=0)
    retries: int = Field(default=3, ge=0)
    retry_delay_s: float = Field(default=10.0, ge=0)
    """Pause between two checks of a missing or corrupt file."""
    sweep_interval_s: float = Field(default=300.0, gt=0)
    """How often ended calls whose recordings have no row yet are looked for (and the
    monitor directory swept for files left there)."""
    sweep_spool: bool = True
    """Sweep ``local_dir`` for recording files no call record names: file each to its call
    by the uniqueid / linkedid in its name, alert on those that match no call."""
    orphan_grace_s: float = Field(default=900.0, ge=0)
    """A file in ``local_dir`` that matches no call raises one alert once this old."""
    short_ratio: float = Field(default=0.5, ge=0, le=1)


class CelSettings(_Section):
    """Completing the calls of an outage from Asterisk's CEL rows."""

    settle_s: float = Field(default=10.0, ge=0)
    """Wait this long after the AMI link is back before reading the outage's CEL rows
    (cel_pgsql writes each row as it happens; this covers a busy database)."""
    retry_s: float = Field(default=60.0, gt=0)
    """How often an outage whose calls are still in progress (or whose CEL could not be
    read) is tried again."""


class HaSettings(_Section):
    """Active/standby: several instances share the PBXs through leases in PostgreSQL."""

    enabled: bool = False
    instance: str = ""
    """This instance's name (default: host, pid and a random suffix)."""
    takeover_s: float = Field(default=5.0, ge=1.0)
    """The PBXs of an instance that died are served by another within this long (its
    leases last 0.6 of it, renewed every 0.15 of it)."""


class WebSettings(_Section):
    """The web app."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    timezone: str = "Asia/Shanghai"
    default_language: Literal["zh", "en"] = "zh"
    secure_cookies: bool = True
    session_hours: float = Field(default=12.0, gt=0)
    service_level_s: float = Field(default=20.0, gt=0)
    service_level_denominator: Literal["offered", "answered", "offered_minus_short"] = (
        "offered_minus_short"
    )
    short_abandon_s: float = Field(default=5.0, ge=0)
    company_name: str = "callcenter"
    login_max_failures: int = Field(default=5, ge=1)
    """Failed sign-ins of one user from one address before sign-in is refused for a while."""
    login_window_s: float = Field(default=900.0, gt=0)
    """The window (seconds) in which failed sign-ins are counted."""
    login_address_max_failures: int = Field(default=20, ge=1)
    """Failed sign-ins from one address (IPv6: its /64), whatever the user, in the window."""
    login_max_verifying: int = Field(default=4, ge=1)
    """Password checks running at once; past it a sign-in gets 503 at once."""


class QaSettings(_Section):
    """The QA monitoring sheet."""

    forms_dir: str = "qa/forms"
    dispute_window_days: int = Field(default=7, ge=0)
    random_per_agent_per_week: int = Field(default=2, ge=0)
    long_hold_s: float = Field(default=60.0, ge=0)
    long_talk_s: float = Field(default=900.0, ge=0)
    form: str = "phone-reception"
    """Id of the form new reviews are scored on (its highest version in ``forms_dir``)."""
    sample_rules: list[Literal["ring_no_answer", "complaint", "long_hold", "long_talk"]] = [
        "ring_no_answer", "complaint", "long_hold", "long_talk"]
    """Calls always sampled, besides the random ones."""
    seed: int = 0
    """Seed of the random sample (with the week and the agent: repeatable)."""
    inspectors: list[str] = []
    """Usernames the work queue is assigned to."""
    assign_by: Literal["round_robin", "team"] = "round_robin"
    teams: dict[str, list[str]] = {}
    """Team name → its agents (QA reports per team; assignment by team)."""
    team_inspectors: dict[str, list[str]] = {}
    """assign_by = "team": team name → the inspectors who review its calls."""


class AgentPanelSettings(_Section):
    """The agents' browser panel."""

    pause_reasons: list[str] = ["break", "lunch", "training", "meeting", "after-call work"]
    note_categories: list[str] = ["consultation", "complaint", "repair", "sales", "other"]
    notes_due_after_s: float = Field(default=300.0, ge=0)
    complaint_response_hours: float = Field(default=48.0, gt=0)
    outbound_context: str = "from-internal"
    outbound_prefix: str = "9"
    """Digits dialled before an outside number (click-to-call sends prefix + number)."""
    interface_template: str = "PJSIP/{agent}"
    """An agent's queue member interface and Originate channel, from its endpoint."""
    complaint_category: str = "complaint"
    """The note category that opens a complaint."""


class MonitoringSettings(_Section):
    """Live listen / whisper / barge (ChanSpy on an agent's channel, from the supervisor's
    own softphone, set on the account page)."""

    roles: list[Literal["admin", "supervisor", "qa", "agent"]] = ["supervisor", "admin"]
    """Roles whose users may monitor live calls."""
    users: list[str] = []
    """Users who may monitor whatever their role."""
    modes: list[Literal["listen", "whisper", "barge"]] = ["listen", "whisper", "barge"]
    """The modes offered (listen: quiet; whisper: the agent hears; barge: both hear)."""
    endpoints: list[str] = []
    """The supervisors' softphone endpoints on the PBX (``check-config`` verifies them)."""
    interface_template: str = "PJSIP/{endpoint}"
    """The Originate channel of a supervisor's softphone, from its endpoint."""
    ring_timeout_s: float = Field(default=30.0, gt=0, le=300)
    """How long the supervisor's phone rings before the session fails (no answer)."""


class Settings(_Section):
    """Everything the daemon, the web app and the CLI are configured with."""

    servers: list[AmiServer] = []
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    ring: RingRuleSettings = RingRuleSettings()
    queues: dict[str, QueueOverride] = {}
    recordings: RecordingSettings = RecordingSettings()
    cel: CelSettings = CelSettings()
    ha: HaSettings = HaSettings()
    web: WebSettings = WebSettings()
    qa: QaSettings = QaSettings()
    agent_panel: AgentPanelSettings = AgentPanelSettings()
    monitoring: MonitoringSettings = MonitoringSettings()
    log_format: Literal["auto", "json", "console"] = "auto"

    @model_validator(mode="after")
    def _unique_server_names(self) -> Settings:
        names = [s.name for s in self.servers]
        if len(names) != len(set(names)):
            raise ValueError("servers: names must be unique")
        return self

    def ring_settings_for(self, queue: str | None) -> RingRuleSettings:
        """The ring rule's settings for ``queue``, its overrides applied."""
        override = self.queues.get(queue or "")
        if override is None:
            return self.ring
        changes = {
            k: v
            for k, v in override.model_dump().items()
            if v is not None and k in RingRuleSettings.model_fields
        }
        return self.ring.model_copy(update=changes)


ENV_PREFIX = "CALLCENTER_"
CONFIG_ENV = "CALLCENTER_CONFIG"
_SHORTCUTS = {"DSN": ("database", "dsn")}
_NOT_KEYS = ("CALLCENTER_TEST_", CONFIG_ENV)
"""Variables that name no setting: the test suite's, and the file's path."""


def _env_overrides(env: Mapping[str, str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for key, value in env.items():
        if not key.startswith(ENV_PREFIX) or key.startswith(_NOT_KEYS):
            continue
        name = key[len(ENV_PREFIX) :]
        path = _SHORTCUTS.get(name) or tuple(p.lower() for p in name.split("__"))
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return tree


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _format_errors(exc: ValidationError, source: str) -> str:
    lines = [f"invalid configuration ({source}):"]
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(root)"
        lines.append(f"  {key}: {err['msg']}")
    return "\n".join(lines)


def load_settings(
    path: str | Path | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Read settings from ``path`` (TOML, optional) and ``env`` (default: os.environ).

    Without ``path``, ``env["CALLCENTER_CONFIG"]`` names the file (when set and
    not empty). Raises :class:`SettingsError` naming the file, line or key on bad
    input.
    """
    env = os.environ if env is None else env
    data: dict[str, Any] = {}
    source = "defaults"
    named_by = ""
    if path is None and env.get(CONFIG_ENV):
        path, named_by = env[CONFIG_ENV], f" (named by {CONFIG_ENV})"
    if path is not None:
        p = Path(path)
        source = str(p)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SettingsError(f"{p}: configuration file not found{named_by}") from None
        except OSError as exc:
            raise SettingsError(f"{p}: cannot read the configuration file{named_by}: "
                                f"{exc.strerror}") from None
        except UnicodeDecodeError as exc:
            raise SettingsError(f"{p}: not UTF-8 text ({exc.reason})") from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{p}: {exc}") from None
    overrides = _env_overrides(env)
    if overrides:
        source += " + CALLCENTER_* environment"
    try:
        return Settings.model_validate(_merge(data, overrides))
    except ValidationError as exc:
        raise SettingsError(_format_errors(exc, source)) from None
