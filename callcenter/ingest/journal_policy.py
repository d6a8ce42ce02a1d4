"""What the journal keeps of the AMI stream: the noise filter (:func:`is_journaled`) and
the actions journaled, secrets removed. The ingest applies it; the store only writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from typing import Any

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


def is_journaled(frame: Mapping[str, Any], journaled_action_ids: AbstractSet[str]
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
