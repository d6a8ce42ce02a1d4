"""The one typed settings object: a TOML file, then ``CALLCENTER_*`` variables.

Precedence (lowest first): defaults, the TOML file, environment variables.
Environment variables name a key by its section path joined with ``__``
(``CALLCENTER_RING__CYCLE_S=4``); ``CALLCENTER_DSN`` is a shortcut for
``database.dsn``; ``CALLCENTER_CONFIG`` names the TOML file when no path is
given (it is not a key). Every validation error names the offending key.
"""

from __future__ import annotations

import os
import re
import string
import tomllib
from collections.abc import Mapping
from datetime import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

QUEUE_NAME = re.compile(r"[A-Za-z0-9_.-]+")


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


class RingPolicy(_Section):
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
    """Optional path of the PBX's queues.conf, checked against the policy at start."""

    @property
    def deadline_s(self) -> float:
        """Seconds of ringing allowed before the rule is broken."""
        return self.cycle_s * self.rings_allowed


class QueueOverride(_Section):
    """Per-queue overrides of the ring policy and retention."""

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
    follow_up_time: time = time(10, 0)
    """The time of day (centre's time zone) a follow-up planned with a date only falls due."""


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


class SurveySettings(_Section):
    """The post-call satisfaction survey (docs/survey.md): the queues whose callers are
    asked for a 1-5 score when the agent hangs up first. The dialplan runs it; these
    settings tell ``check-config`` which queues' Queue() lines must run it, and the
    simulator which queues to play it on. The shipped dialplan surveys ``support``."""

    queues: list[str] = ["support"]
    """The surveyed queues (opt-in: a queue not listed is not surveyed)."""

    @field_validator("queues")
    @classmethod
    def _queue_names(cls, value: list[str]) -> list[str]:
        bad = [q for q in value if not QUEUE_NAME.fullmatch(q)]
        if bad:
            raise ValueError(f"not a queue name: {', '.join(map(repr, bad))} "
                             "(letters, digits, _ . -)")
        if len(set(value)) != len(value):
            raise ValueError("a queue is listed twice")
        return value


class LocalText(_Section):
    """A label in each language of the UI."""

    zh: str = Field(min_length=1, max_length=200)
    en: str = Field(min_length=1, max_length=200)

    def get(self, lang: str) -> str:
        """The text in ``lang`` (English for any other)."""
        return self.zh if lang == "zh" else self.en


class ProfileChoice(_Section):
    """One choice of a choice field: the stored value and its labels."""

    value: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    label: LocalText


PROFILE_TYPES = ("text", "int", "choice", "multi-choice", "date")


class ProfileField(_Section):
    """One field of the customer profile (stored in customers.profile under ``name``)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    type: Literal["text", "int", "choice", "multi-choice", "date"] = "text"
    label: LocalText
    required: bool = False
    choices: list[ProfileChoice] = []
    min: int | None = None
    """Smallest value of an int field."""
    max: int | None = None
    """Largest value of an int field."""
    max_length: int = Field(default=200, ge=1, le=4000)
    """Longest text of a text field."""

    @model_validator(mode="after")
    def _choices_fit_the_type(self) -> ProfileField:
        choice = self.type in ("choice", "multi-choice")
        if choice and not self.choices:
            raise ValueError(f"{self.name}: a {self.type} field needs choices")
        if not choice and self.choices:
            raise ValueError(f"{self.name}: only choice and multi-choice fields have choices")
        values = [c.value for c in self.choices]
        if len(values) != len(set(values)):
            raise ValueError(f"{self.name}: choice values must be unique")
        if (self.min is not None or self.max is not None) and self.type != "int":
            raise ValueError(f"{self.name}: only int fields have min and max")
        return self


def _choices(*items: tuple[str, str, str]) -> list[ProfileChoice]:
    return [ProfileChoice(value=v, label=LocalText(zh=zh, en=en)) for v, zh, en in items]


DEFAULT_PROFILE = [
    ProfileField(name="gender", type="choice", label=LocalText(zh="性别", en="Gender"),
                 choices=_choices(("female", "女", "Female"), ("male", "男", "Male"))),
    ProfileField(name="age", type="int", label=LocalText(zh="年龄", en="Age"), min=0, max=150),
    ProfileField(name="occupation", label=LocalText(zh="职业", en="Occupation")),
    ProfileField(name="address", label=LocalText(zh="地址", en="Address"), max_length=500),
    ProfileField(name="products", type="multi-choice",
                 label=LocalText(zh="已购产品", en="Products bought"),
                 choices=_choices(("broadband", "宽带", "Broadband"),
                                  ("mobile", "手机套餐", "Mobile plan"),
                                  ("tv", "电视", "TV"))),
    ProfileField(name="purchase_intent", type="choice",
                 label=LocalText(zh="购买意向", en="Purchase intent"),
                 choices=_choices(("high", "强", "High"), ("medium", "一般", "Medium"),
                                  ("low", "弱", "Low"), ("none", "无", "None"))),
]


class CustomerSettings(_Section):
    """The customer record: the profile's fields, the key-account tiers."""

    fields: list[ProfileField] = Field(default_factory=lambda: list(DEFAULT_PROFILE))
    tiers: dict[str, int] = {"gold": 10, "silver": 5}
    """Key-account tier → queue priority (Asterisk QUEUE_PRIO: higher is answered first)."""
    tier_labels: dict[str, LocalText] = {
        "gold": LocalText(zh="金牌", en="Gold"), "silver": LocalText(zh="银牌", en="Silver")}
    """How each tier is shown (the tier's name when absent)."""

    @field_validator("tiers")
    @classmethod
    def _tier_names(cls, tiers: dict[str, int]) -> dict[str, int]:
        for name, priority in tiers.items():
            if not re.fullmatch(r"[a-z0-9_-]{1,40}", name):
                raise ValueError(f"tier {name!r}: use lower-case letters, digits, _ and -")
            if not 1 <= priority <= 1000:
                raise ValueError(f"tier {name!r}: the priority must be 1 to 1000")
        return tiers

    @model_validator(mode="after")
    def _consistent(self) -> CustomerSettings:
        names = [f.name for f in self.fields]
        if len(names) != len(set(names)):
            raise ValueError("fields: names must be unique")
        unknown = sorted(set(self.tier_labels) - set(self.tiers))
        if unknown and "tier_labels" in self.model_fields_set:
            raise ValueError(f"tier_labels: no such tier: {', '.join(unknown)}")
        self.tier_labels = {k: v for k, v in self.tier_labels.items() if k in self.tiers}
        return self

    def tier_label(self, tier: str | None, lang: str) -> str:
        """How ``tier`` is shown in ``lang``."""
        label = self.tier_labels.get(tier or "")
        return label.get(lang) if label else tier or ""


SCRIPT_PLACEHOLDERS = ("company", "agent_name", "department", "queue", "customer")


def _check_placeholders(text: str) -> str:
    """``text`` when its {placeholders} are all known; ValueError naming the bad one."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ValueError(f"bad braces ({exc}); write {{{{ and }}}} for a literal brace") from None
    allowed = ", ".join("{" + p + "}" for p in SCRIPT_PLACEHOLDERS)
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in SCRIPT_PLACEHOLDERS or spec or conversion:
            raise ValueError(f"unknown placeholder {{{name}}}; allowed are {allowed}")
    return text


class ScriptText(_Section):
    """What the agent says, in one language; a missing part comes from the default."""

    greeting: str | None = None
    introduction: str | None = None
    confirm: list[str] | None = None
    other_questions: str | None = None
    close: str | None = None
    department: str | None = None
    """The department the agent introduces (the queue's business line)."""

    @field_validator("greeting", "introduction", "other_questions", "close", "department")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        return None if value is None else _check_placeholders(value)

    @field_validator("confirm")
    @classmethod
    def _prompts(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else [_check_placeholders(v) for v in value]


BUILTIN_SCRIPTS = {
    "zh": ScriptText(
        greeting="您好，{company}！", department="客户服务部",
        introduction="我是{department}的{agent_name}，很高兴为您服务，请问有什么可以帮您？",
        confirm=["跟您确认一下：您反映的问题是……，对吗？",
                 "为了方便回复您，请再确认一下您的姓名和联系电话。"],
        other_questions="请问您还有其他问题吗？", close="感谢您的来电，祝您生活愉快，再见！"),
    "en": ScriptText(
        greeting="Hello, {company}!", department="Customer Service",
        introduction="This is {agent_name} of {department}. How may I help you?",
        confirm=["Let me repeat that to be sure: your request is … Is that right?",
                 "May I confirm your name and a number to reach you?"],
        other_questions="Is there anything else I can help you with?",
        close="Thank you for calling. Goodbye!"),
}


class ScriptSettings(_Section):
    """Call scripts on the screen pop: a default and per-queue scripts, per language."""

    default: dict[Literal["zh", "en"], ScriptText] = {}
    queues: dict[str, dict[Literal["zh", "en"], ScriptText]] = {}

    def script(self, queue: str | None, lang: str) -> ScriptText:
        """The complete script of ``queue`` in ``lang``: the queue's parts, else the
        configured default's, else the built-in ones."""
        key: Literal["zh", "en"] = "zh" if lang == "zh" else "en"
        layers = [self.queues.get(queue or "", {}).get(key), self.default.get(key),
                  BUILTIN_SCRIPTS[key]]
        parts = {name: next(getattr(s, name) for s in layers
                            if s is not None and getattr(s, name) is not None)
                 for name in ScriptText.model_fields}
        return ScriptText(**parts)


class CallbackQueue(_Section):
    """Queue callback of one queue: offered after ``offer_after_s`` of waiting; a customer
    who does not answer is tried ``retries`` more times, ``retry_interval_s`` apart, then
    the request ends with ``give_up_disposition``."""

    enabled: bool = True
    offer_after_s: float = Field(default=30.0, ge=0)
    retries: int = Field(default=2, ge=0, le=20)
    retry_interval_s: float = Field(default=120.0, gt=0)
    give_up_disposition: str = Field(default="unreachable", pattern=r"^[a-z][a-z0-9_-]{0,39}$")


class CallbackSettings(_Section):
    """Queue callback and key-account priority, answered to the dialplan by the daemon's
    FastAGI service (``AGI(agi://<agi_host>:<agi_port>/...)``)."""

    agi_enabled: bool = True
    agi_host: str = "127.0.0.1"
    """Loopback only: the FastAGI service answers whoever connects, without a secret."""
    agi_port: int = Field(default=4573, ge=0, le=65535)
    request_timeout_s: float = Field(default=1.0, gt=0, le=5)
    """A request not answered within this long gets the safe default (no priority, no offer)."""
    originate_context: str = "callback-dial"
    """The context the agent's leg runs once the agent answers: it dials the customer."""
    agent_ring_s: float = Field(default=20.0, gt=0)
    """How long the agent's phone rings for a callback (Originate Timeout)."""
    resolve_after_s: float = Field(default=300.0, gt=0)
    """An attempt in progress at a restart whose call is not recorded after this long
    counts as failed (it is never placed twice)."""
    key_account_priority: int = Field(default=10, ge=0, le=1000)
    """QUEUE_PRIO of a key account without a tier (a tier's is ``customers.tiers``')."""
    queues: dict[str, CallbackQueue] = {}
    """Queues offering a callback (absent: no offer)."""

    @field_validator("agi_host")
    @classmethod
    def _loopback(cls, value: str) -> str:
        import ipaddress

        try:
            if ipaddress.ip_address(value).is_loopback:
                return value
        except ValueError:
            pass
        raise ValueError("must be a loopback address (127.0.0.1 or ::1): FastAGI has no "
                         "authentication")
class ComplaintSettings(_Section):
    """The complaint workflow (#22)."""

    reasons: list[str] = ["service_attitude", "wait_time", "wrong_information",
                          "product_quality", "billing", "other"]
    """The complaint reasons offered (codes; the web shows their translation if it has one)."""
    overdue_refresh_s: float = Field(default=60.0, gt=0)
    """How often the wallboard's overdue watch rereads the pending complaints' deadlines
    (between rereads it judges overdue from memory: no database work per tick)."""

    @field_validator("reasons")
    @classmethod
    def _reasons(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("give at least one reason")
        if any(not r.strip() or len(r) > 64 for r in value):
            raise ValueError("a reason is a non-empty code of at most 64 characters")
        if len(set(value)) != len(value):
            raise ValueError("reasons must be unique")
        return value


class KpiSettings(_Section):
    """The managers' KPIs (callcenter.store.kpi_reads)."""

    departments: dict[str, list[str]] = {}
    """Department name → its agents (endpoints, e.g. agent1001); an agent in none
    reports under no department. An agent belongs to at most one department."""
    qa_pass_total: float = Field(default=60.0, ge=0, le=100)
    """A submitted QA review passes (a compliant service) with a total at least this
    and no fatal error."""
    satisfied_min_score: int = Field(default=4, ge=1, le=5)
    """A survey answer (1-5) at least this is a satisfied customer."""

    @field_validator("departments")
    @classmethod
    def _departments(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        seen: dict[str, str] = {}
        for name, agents in value.items():
            if not name.strip():
                raise ValueError("a department needs a name")
            for agent in agents:
                if agent in seen:
                    raise ValueError(f"agent {agent!r} is in two departments: "
                                     f"{seen[agent]!r} and {name!r}")
                seen[agent] = name
        return value

    def department_of(self) -> dict[str, str]:
        """Agent → its department."""
        return {a: name for name, agents in self.departments.items() for a in agents}


class Settings(_Section):
    """Everything the daemon, the web app and the CLI are configured with."""

    servers: list[AmiServer] = []
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    ring: RingPolicy = RingPolicy()
    queues: dict[str, QueueOverride] = {}
    recordings: RecordingSettings = RecordingSettings()
    cel: CelSettings = CelSettings()
    ha: HaSettings = HaSettings()
    web: WebSettings = WebSettings()
    qa: QaSettings = QaSettings()
    agent_panel: AgentPanelSettings = AgentPanelSettings()
    monitoring: MonitoringSettings = MonitoringSettings()
    survey: SurveySettings = SurveySettings()
    customers: CustomerSettings = CustomerSettings()
    scripts: ScriptSettings = ScriptSettings()
    callbacks: CallbackSettings = CallbackSettings()
    complaints: ComplaintSettings = ComplaintSettings()
    kpi: KpiSettings = KpiSettings()
    log_format: Literal["auto", "json", "console"] = "auto"

    @model_validator(mode="after")
    def _unique_server_names(self) -> Settings:
        names = [s.name for s in self.servers]
        if len(names) != len(set(names)):
            raise ValueError("servers: names must be unique")
        return self

    def ring_policy_for(self, queue: str | None) -> RingPolicy:
        """The ring policy of ``queue`` with its overrides applied."""
        override = self.queues.get(queue or "")
        if override is None:
            return self.ring
        changes = {
            k: v
            for k, v in override.model_dump().items()
            if v is not None and k in RingPolicy.model_fields
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
