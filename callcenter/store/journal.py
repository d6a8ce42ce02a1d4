"""The append-only event journal: what is kept (:func:`is_journaled`) and its repository.

Entries are AMI frames (events, and the responses to actions we journaled),
the actions we sent (secrets removed) and resync markers, per server in
arrival order. ``seq`` is the arrival time in microseconds made strictly
increasing per server (:class:`SeqClock`), so a replayed capture gets the same
keys each time and appending it again changes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal, NamedTuple

import asyncpg
import orjson

from callcenter.calls.channels import event_seconds
from callcenter.store.arrays import columns

EntryKind = Literal["frame", "sent", "resync"]

DROPPED_EVENTS = frozenset({
    # media statistics, every few seconds per channel
    "RTCPSent", "RTCPReceived",
    # CEL repeats the channel/bridge events we read natively
    "CEL",
    # key presses: noise for call records, and may carry card numbers or PINs
    "DTMFBegin", "DTMFEnd",
    # security log of AMI/SIP logins: not about calls, carries addresses
    "SuccessfulAuth", "InvalidPassword", "InvalidAccountID", "ChallengeSent",
    "ChallengeResponseFailed", "FailedACL", "RequestBadFormat", "RequestNotAllowed",
    "UnexpectedAddress", "AuthMethodNotAllowed", "InvalidTransport",
    # answers to list actions that only the daemon's resync reads (folded into a
    # 'resync' entry) or that monitoring tools send
    "CoreShowChannel", "CoreShowChannelsComplete", "Status", "StatusComplete",
    "EndpointList", "EndpointListComplete", "ContactList", "ContactListComplete",
    "AorList", "AorListComplete", "AuthList", "AuthListComplete",
    "QueueSummary", "QueueSummaryComplete", "ChannelsHungupListComplete",
    # periodic / housekeeping
    "Registry", "LoadAverageLimit", "Reload", "ModuleLoadReport",
})

KEPT_VARIABLES = frozenset({
    "MIXMONITOR_FILENAME", "MIXMON_FILE", "QUEUESTATUS", "DIALSTATUS", "BRIDGEPEER",
    "BLINDTRANSFER", "ATTENDEDTRANSFER", "TRANSFERERNAME", "FORWARD_CONTEXT",
    "QUEUENAME", "MEMBERINTERFACE", "MEMBERNAME", "QUEUEPOSITION", "ABANDONED",
    "ANSWEREDTIME", "DIALEDTIME", "HANGUPCAUSE", "CUSTOMER_ID", "DIALEDPEERNUMBER",
    "CALLBACK_REQUESTED",
})

NOISE_APPLICATIONS = frozenset({
    "NoOp", "Set", "Verbose", "Log", "ExecIf", "Wait", "Progress", "Ringing",
    "Playback", "Background", "SayDigits", "SayNumber", "Return", "MSet",
})

PSEUDO_DEVICE_PREFIXES = ("Queue:", "Local/", "Custom:", "MixMonitor", "Park", "Calendar:",
                          "ConfBridge:", "Agent:")

SECRET_FIELDS = frozenset({"secret", "key"})
UNJOURNALED_ACTIONS = frozenset({
    "login", "logoff", "challenge", "ping", "events", "coreshowchannels", "queuestatus",
    "queuesummary", "status", "command", "coresettings", "corestatus", "listcommands",
    "pjsipshowendpoints", "getvar",
})
"""Read-only and session actions: not journaled (nor their responses)."""


def is_journaled(frame: Mapping[str, Any], journaled_action_ids: frozenset[str] | set[str]
                 = frozenset()) -> bool:
    """True when ``frame`` is stored in the journal (and so fed to the tracker).

    Kept: every event the tracker reads (channels, dials, bridges, queues,
    agents, transfers, hold, MixMonitor, hangups, Cdr) and any event not named
    below. Dropped, and why:

    - ``RTCPSent``/``RTCPReceived``: media statistics, most of a stream's volume;
    - ``CEL``: repeats the channel and bridge events;
    - ``DTMFBegin``/``DTMFEnd``: key presses may carry card numbers or PINs;
    - AMI security events (``SuccessfulAuth``, ``InvalidPassword``, ...): not
      about calls;
    - list-action answers (``CoreShowChannel``, ``Status``, ``EndpointList``,
      ``QueueSummary``...): the daemon's resync stores its outcome as one
      ``resync`` entry; ``QueueMember``/``QueueParams``/``QueueEntry`` are kept
      (agent and queue state);
    - ``VarSet`` except the variables in :data:`KEPT_VARIABLES` (recording
      file, dial/queue status, transfer and bridge peers, queue member);
    - ``Newexten`` running a dialplan application of :data:`NOISE_APPLICATIONS`
      (NoOp, Set, Verbose, ...); Answer, Dial, Queue, MixMonitor, Gosub... stay;
    - ``DeviceStateChange`` of pseudo devices (``Queue:``, ``Local/``,
      ``Custom:``...): phones' device states stay;
    - responses (frames without ``Event``) unless their ActionID is one of
      ``journaled_action_ids`` (the actions journaled as ``sent``).
    """
    event = frame.get("Event")
    if not isinstance(event, str):
        action_id = frame.get("ActionID")
        return isinstance(action_id, str) and action_id in journaled_action_ids
    if event in DROPPED_EVENTS:
        return False
    if event == "VarSet":
        return frame.get("Variable") in KEPT_VARIABLES
    if event == "Newexten":
        return frame.get("Application") not in NOISE_APPLICATIONS
    if event == "DeviceStateChange":
        device = frame.get("Device")
        return isinstance(device, str) and not device.startswith(PSEUDO_DEVICE_PREFIXES)
    return True


def is_journaled_action(action: Mapping[str, Any]) -> bool:
    """True for an action we sent that changes something (Hangup, Redirect, QueuePause...)."""
    name = action.get("Action")
    return isinstance(name, str) and name.lower() not in UNJOURNALED_ACTIONS


def scrub_action(action: Mapping[str, Any]) -> dict[str, Any]:
    """``action`` without secret fields (Secret, Key)."""
    return {k: v for k, v in action.items() if k.lower() not in SECRET_FIELDS}


class SeqClock:
    """Journal sequence numbers: arrival time in µs, strictly increasing."""

    def __init__(self, last: int = 0) -> None:
        self.last = last

    def next(self, received_at: float) -> int:
        """The seq for an entry that arrived at ``received_at`` (Unix seconds)."""
        self.last = max(self.last + 1, round(received_at * 1_000_000))
        return self.last


def _linkedid(frame: Mapping[str, Any]) -> str | None:
    for key in ("Linkedid", "LinkedID", "DestLinkedid"):
        value = frame.get(key)
        if isinstance(value, str) and value:
            return value
    return None


class JournalEntry(NamedTuple):
    """One journal row. ``received_at`` and ``event_at`` are Unix seconds."""

    server: str
    seq: int
    kind: EntryKind
    received_at: float
    event_at: float
    event: str
    linkedid: str | None
    payload: Any

    @classmethod
    def of(cls, server: str, seq: int, kind: EntryKind, payload: Any,
           received_at: float) -> JournalEntry:
        """The entry for a frame, a sent action or a resync payload (linkedid list)."""
        if kind == "frame":
            name = payload.get("Event") or "Response:" + str(payload.get("Response", ""))
            return cls(server, seq, kind, received_at, event_seconds(payload, received_at),
                       str(name), _linkedid(payload), payload)
        if kind == "sent":
            return cls(server, seq, kind, received_at, received_at,
                       "Action:" + str(payload.get("Action", "")), None, payload)
        return cls(server, seq, kind, received_at, received_at, "resync", None, payload)

    def row(self) -> JournalRow:
        """The row this entry is stored as (its frame as JSON text)."""
        return JournalRow(*self[:7], orjson.dumps(self.payload).decode())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JournalEntry:
        """An entry as spooled by callcenter before 0.2 (``store.jsonl``)."""
        return cls.of(data["server"], data["seq"], data["kind"], data["payload"],
                      data["received_at"])


class JournalRow(NamedTuple):
    """A journal entry as stored: what the spool keeps and the insert takes (few objects
    to build back from the spool: the frame stays JSON text)."""

    server: str
    seq: int
    kind: str
    received_at: float
    event_at: float
    event: str
    linkedid: str | None
    frame: str


_INSERT = """INSERT INTO journal
    (server, seq, kind, received_at, event_time, event, linkedid, frame)
SELECT server, seq, kind, to_timestamp(received_at), to_timestamp(event_at), event, linkedid,
    frame::json
FROM unnest($1::text[], $2::bigint[], $3::text[], $4::float8[], $5::float8[],
            $6::text[], $7::text[], $8::text[])
    AS t(server, seq, kind, received_at, event_at, event, linkedid, frame)
ON CONFLICT (server, seq) DO NOTHING"""


PAGE = """SELECT seq, kind, date_part('epoch', received_at) AS at, frame::text FROM journal
WHERE server = $1 AND seq > $2 ORDER BY seq LIMIT $3"""
"""A page of a server's journal after a seq (only the months from that seq on are read)."""


class JournalRepository:
    """Append to and read the journal."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def append(self, entries: Sequence[JournalEntry],
                     conn: asyncpg.Connection | None = None) -> None:
        """Store ``entries`` in one statement; entries already there are skipped."""
        await self.append_rows([e.row() for e in entries], conn)

    async def append_rows(self, rows: Sequence[JournalRow],
                          conn: asyncpg.Connection | None = None) -> None:
        """Store ``rows`` in one statement (atomic on its own); rows already there are
        skipped."""
        if not rows:
            return
        if conn is None:
            async with self.pool.acquire() as c:
                await self.append_rows(rows, c)
            return
        await conn.execute(_INSERT, *columns(rows, 8))

    async def last_seq(self, server: str) -> int:
        """The highest seq stored for ``server`` (0 when none)."""
        value = await self.pool.fetchval(
            "SELECT coalesce(max(seq), 0) FROM journal WHERE server = $1", server)
        return int(value)

    async def first_seq_of(self, server: str, linkedids: Sequence[str]) -> int | None:
        """The first seq of any of ``linkedids`` on ``server`` (None: none journaled)."""
        value = await self.pool.fetchval(
            "SELECT min(seq) FROM journal WHERE server = $1 AND linkedid = ANY($2::text[])",
            server, list(linkedids))
        return None if value is None else int(value)

    async def pbx_started_between(self, server: str, after: datetime, until: datetime
                                  ) -> datetime | None:
        """When the PBX process started, by the first ``FullyBooted`` received in
        ``after``..``until`` (its event time less its ``Uptime``); None without one."""
        row = await self.pool.fetchrow(
            "SELECT event_time, frame->>'Uptime' AS uptime FROM journal WHERE server = $1"
            " AND event = 'FullyBooted' AND received_at >= $2 AND received_at <= $3"
            " ORDER BY seq LIMIT 1", server, after, until)
        if row is None or not str(row["uptime"] or "").isdigit():
            return None
        started: datetime = row["event_time"] - timedelta(seconds=int(row["uptime"]))
        return started

    async def event_times_around(self, server: str, lost_at: datetime, resumed_at: datetime
                                 ) -> tuple[datetime | None, datetime | None]:
        """The PBX's own times (``Timestamp``) of the last event received by ``lost_at`` and
        of the first received from ``resumed_at`` on (an outage in the PBX's clock; None: no
        such event). Frames without a Timestamp (list responses) carry our clock: skipped."""
        row = await self.pool.fetchrow(
            "SELECT (SELECT event_time FROM journal WHERE server = $1 AND seq <= $2"
            "        AND kind = 'frame' AND frame->>'Timestamp' IS NOT NULL"
            "        ORDER BY seq DESC LIMIT 1) AS before,"
            "       (SELECT event_time FROM journal WHERE server = $1 AND seq >= $3"
            "        AND kind = 'frame' AND frame->>'Timestamp' IS NOT NULL"
            "        ORDER BY seq LIMIT 1) AS after",
            server, int(lost_at.timestamp() * 1e6), int(resumed_at.timestamp() * 1e6) - 1000)
        return row["before"], row["after"]

    async def first_events_after(self, server: str, resumed_at: datetime,
                                 linkedids: Sequence[str]) -> dict[str, datetime]:
        """linkedid → the PBX time (Timestamp) of its first event received from
        ``resumed_at`` on, for those of ``linkedids`` that have one."""
        rows = await self.pool.fetch(
            "SELECT linkedid, min(event_time) AS first FROM journal WHERE server = $1"
            " AND seq >= $2 AND linkedid = ANY($3::text[]) AND kind = 'frame'"
            " AND frame->>'Timestamp' IS NOT NULL GROUP BY linkedid",
            server, int(resumed_at.timestamp() * 1e6) - 1000, list(linkedids))
        return {r["linkedid"]: r["first"] for r in rows}

    async def has_calls_since(self, server: str, since: datetime) -> bool:
        """True when a call event of ``server`` was journaled at/after ``since``."""
        return bool(await self.pool.fetchval(
            "SELECT EXISTS (SELECT 1 FROM journal WHERE server = $1 AND event_time >= $2"
            " AND linkedid IS NOT NULL)", server, since))

    async def servers(self) -> list[str]:
        """Servers that have entries."""
        rows = await self.pool.fetch("SELECT DISTINCT server FROM journal ORDER BY server")
        return [r["server"] for r in rows]

    async def affected_since(self, since: datetime, from_seq: int = 0
                             ) -> dict[str, tuple[int, set[str]]]:
        """Per server: the first seq (≥ ``from_seq``) of any call with an event at/after
        ``since``, and its calls; only entries from ``from_seq`` on are read (the journal's
        partitions before it are not)."""
        rows = await self.pool.fetch(
            "SELECT j.server, j.linkedid, min(j.seq) AS first_seq FROM journal j"
            " WHERE j.seq >= $2 AND (j.server, j.linkedid) IN (SELECT DISTINCT server,"
            "   linkedid FROM journal WHERE seq >= $2 AND event_time >= $1"
            "   AND linkedid IS NOT NULL)"
            " GROUP BY j.server, j.linkedid", since, from_seq)
        out: dict[str, tuple[int, set[str]]] = {}
        for r in rows:
            first, ids = out.get(r["server"], (r["first_seq"], set()))
            ids.add(r["linkedid"])
            out[r["server"]] = (min(first, r["first_seq"]), ids)
        return out

    async def entries(self, server: str, from_seq: int = 0,
                      page: int = 5000) -> AsyncIterator[JournalEntry]:
        """The entries of ``server`` with seq ≥ ``from_seq``, in order."""
        async for seq, kind, payload, at in self._pages(server, from_seq, page):
            yield JournalEntry.of(server, seq, kind, payload, at)

    async def items(self, server: str, from_seq: int = 0,
                    page: int = 5000) -> AsyncIterator[tuple[EntryKind, Any, float]]:
        """What a replay reads of the entries of ``server`` with seq ≥ ``from_seq``, in
        order: (kind, payload, received_at as Unix seconds), nothing else built."""
        async for _, kind, payload, at in self._pages(server, from_seq, page):
            yield kind, payload, at

    async def _pages(self, server: str, from_seq: int, page: int
                     ) -> AsyncIterator[tuple[int, EntryKind, Any, float]]:
        """Pages of ``server``'s journal, the next one fetched while this one is read."""
        loads = orjson.loads
        ahead = asyncio.ensure_future(self.pool.fetch(PAGE, server, from_seq - 1, page))
        try:
            while ahead is not None:
                rows = await ahead
                ahead = (asyncio.ensure_future(self.pool.fetch(PAGE, server, rows[-1][0], page))
                         if len(rows) == page else None)
                for seq, kind, at, frame in rows:
                    yield seq, kind, loads(frame), at
        finally:  # left early: the page ahead completes on its own, unread (no cancelled
            if ahead is not None:  # fetch: its connection goes back to the pool clean)
                ahead.add_done_callback(lambda f: f.cancelled() or f.exception())
