"""State of the simulated PBX: configuration, channels, bridges, agents, queues.

Plain data; behaviour lives in :mod:`callcenter.sim.pbx` and :mod:`callcenter.sim.flows`.
Times are simulated Unix epoch seconds (see :class:`callcenter.sim.clock.SimClock`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

CHANNEL_VARS = ("CUSTOMER_ID", "MIXMON_FILE", "QUEUENAME", "MEMBERINTERFACE")
STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up", 7: "Busy"}
CAUSE_TXT = {
    0: "Unknown",
    16: "Normal Clearing",
    17: "User busy",
    19: "User alerting, no answer",
    26: "Answered elsewhere",
    127: "Interworking, unspecified",
}


@dataclass
class AgentScript:
    """How an agent's phone behaves when it rings (durations in simulated seconds).

    ``answer_after=None`` never answers. After answering the parties talk
    ``talk`` seconds, then ``hangup_by`` ("agent" or "caller") hangs up, unless
    ``blind_transfer_to``/``attended_transfer_to`` (an extension such as
    "1003") ends the agent's part. ``hold=(after_s, duration_s)`` puts the
    caller on hold once, ``after_s`` into the talk.
    """

    answer_after: float | None = 3.0
    talk: float = 10.0
    hangup_by: str = "agent"
    hold: tuple[float, float] | None = None
    blind_transfer_to: str | None = None
    attended_transfer_to: str | None = None


@dataclass
class SurveyReply:
    """How one caller meets the post-call survey: presses ``digit`` ``after_s`` seconds
    into the Read (None: presses nothing, Read times out), or hangs up ``hang_up_s``
    seconds into it (no answer, no UserEvent)."""

    digit: str | None = None
    after_s: float = 2.4
    hang_up_s: float | None = None


@dataclass
class SurveyConfig:
    """The post-call survey (dialplan ``cc-survey``): the surveyed ``queues`` (none by
    default, as on the PBX of the real3 captures; the shipped dialplan surveys
    ``support``: ``callcenter sim --survey-queues``), and how
    callers answer when no :class:`SurveyReply` is given: a key 1-5 with probability
    ``answer_p``, a hang-up during the prompt with ``hang_up_p``, else nothing.
    ``prompt_s``: the prompt's length; ``wait_s``: Read's timeout after it."""

    queues: frozenset[str] = frozenset()
    answer_p: float = 0.6
    hang_up_p: float = 0.15
    prompt_s: float = 6.0
    wait_s: float = 5.0
    language: str = "zh"

    def reply(self, rng: random.Random) -> SurveyReply:
        """A random caller's reply (seeded by the PBX's generator)."""
        roll, wait = rng.random(), self.prompt_s + self.wait_s
        if roll < self.answer_p:
            return SurveyReply(str(rng.randint(1, 5)), rng.uniform(1.0, wait - 0.5))
        if roll < self.answer_p + self.hang_up_p:
            return SurveyReply(hang_up_s=rng.uniform(0.5, wait - 0.5))
        return SurveyReply()


@dataclass
class AgentConfig:
    """One agent's phone: endpoint ``agent1001`` (interface ``PJSIP/agent1001``)."""

    endpoint: str
    name: str

    @property
    def number(self) -> str:
        """The extension, e.g. ``1001`` for ``agent1001``."""
        return self.endpoint.removeprefix("agent")


@dataclass
class SupervisorConfig:
    """A supervisor's softphone (``PJSIP/supervisor2001``), rung for live monitoring:
    it answers after ``answer_after`` s (None: never)."""

    endpoint: str
    name: str
    answer_after: float | None = 1.0

    @property
    def interface(self) -> str:
        """``PJSIP/<endpoint>``."""
        return f"PJSIP/{self.endpoint}"

    @property
    def number(self) -> str:
        """The extension, e.g. ``2001`` for ``supervisor2001``."""
        return self.endpoint.removeprefix("supervisor")


@dataclass
class QueueConfig:
    """An app_queue queue; ``timeout`` is the member ring timeout in seconds."""

    name: str
    strategy: str = "rrmemory"
    timeout: float = 15.0
    retry: float = 2.0
    members: list[str] = field(default_factory=list)
    autopause: bool = False
    max_wait: float = 60.0
    dynamic: bool = False  # members logged in with QueueAdd (may log out), not queues.conf
    wrapup: float = 0.0  # wrapuptime: s after a call before app_queue offers the member again
    callback_context: str = ""  # queues.conf context: a caller pressing 1 leaves for it


@dataclass
class SimConfig:
    """The PBX configuration: agents, queues, DIDs (DID → queue)."""

    agents: list[AgentConfig]
    queues: list[QueueConfig]
    dids: dict[str, str]
    direct_dial_timeout: float = 30.0
    # DIDs whose queue records on the answering agent's channel (queue gosub), not the caller's
    agent_recording_dids: frozenset[str] = frozenset({"802"})
    supervisors: list[SupervisorConfig] = field(default_factory=lambda: [
        SupervisorConfig("supervisor2001", "Sam Supervisor")])
    survey: SurveyConfig = field(default_factory=SurveyConfig)
    priority_dids: dict[str, str] = field(default_factory=lambda: {"810": "support"})
    """DIDs that ask the daemon's FastAGI for the caller's queue priority first."""

    @classmethod
    def default(cls, n_agents: int = 3) -> SimConfig:
        """The configuration of the captures' PBX (3 agents), or ``n_agents`` of them.

        support: every agent (rrmemory, 15 s, retry 2); sales: agents 2.. (ringall,
        20 s); billing: every agent, logged in dynamically (rrmemory). DIDs 800/801/803,
        and 802 → support
        recording on the agent's channel.
        """
        names = ["Alice Agent", "Bob Agent", "Carol Agent"]
        agents = [
            AgentConfig(f"agent{1001 + i}", names[i] if i < len(names) else f"Agent {1001 + i}")
            for i in range(n_agents)
        ]
        ifaces = [f"PJSIP/{a.endpoint}" for a in agents]
        queues = [
            QueueConfig("support", "rrmemory", 15.0, 2.0, list(ifaces)),
            QueueConfig("sales", "ringall", 20.0, 2.0, ifaces[1:] or list(ifaces)),
            QueueConfig("billing", "rrmemory", 15.0, 2.0, list(ifaces), dynamic=True),
        ]
        dids = {"800": "support", "801": "sales", "802": "support", "803": "billing"}
        return cls(agents, queues, dids)


@dataclass
class Channel:
    """A channel snapshot as Asterisk reports it in every channel event."""

    name: str
    uniqueid: str
    linkedid: str
    cid_num: str
    cid_name: str
    context: str
    exten: str
    priority: str = "1"
    state: int = 0
    connected_num: str = "<unknown>"
    connected_name: str = "<unknown>"
    variables: dict[str, str] = field(default_factory=lambda: dict.fromkeys(CHANNEL_VARS, ""))
    created: float = 0.0
    alive: bool = True
    bridge: Bridge | None = None
    app: str = ""
    appdata: str = ""
    owner: Any = None  # the flow (call) that reacts to actions on this channel
    dnid: str = ""  # the number dialled to reach the PBX (channels that called in)
    ani: str | None = None  # None: the caller ID number (CEL cid_ani)

    def set_connected(self, other: Channel) -> None:
        """Show ``other`` as the connected line."""
        self.connected_num, self.connected_name = other.cid_num, other.cid_name


@dataclass
class Bridge:
    """A basic bridge (two or more channels mixing audio)."""

    uniqueid: str
    channels: list[Channel] = field(default_factory=list)


@dataclass
class Member:
    """A queue member (one agent's interface in one queue)."""

    queue: str
    interface: str
    name: str
    membership: str = "static"
    penalty: int = 0
    calls_taken: int = 0
    last_call: int = 0
    last_pause: int = 0
    login_time: int = 0
    paused: bool = False
    paused_reason: str = ""
    ringinuse: bool = False


@dataclass
class Agent:
    """An agent's device: its state is shared by all its queue memberships."""

    config: AgentConfig
    status: int = 1  # 1 not in use, 2 in use, 6 ringing (app_queue member Status)
    script: AgentScript | None = None
    wrapup_until: float = 0.0  # app_queue offers no queue call before this

    @property
    def interface(self) -> str:
        """``PJSIP/<endpoint>``."""
        return f"PJSIP/{self.config.endpoint}"


@dataclass
class Waiter:
    """A caller waiting in a queue."""

    call: Any
    channel: Channel
    joined: float
    original_position: int
    idle: bool = True  # not ringing anybody and not in retry
    priority: int = 0  # QUEUE_PRIO: a higher one waits ahead


@dataclass
class Queue:
    """A queue's live state."""

    config: QueueConfig
    members: dict[str, Member] = field(default_factory=dict)
    waiting: list[Waiter] = field(default_factory=list)
    last_index: int = -1
    completed: int = 0
    abandoned: int = 0
