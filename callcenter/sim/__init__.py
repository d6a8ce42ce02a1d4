"""A simulated Asterisk 22 PBX speaking real AMI over TCP, and a capture replay server.

``PBXSimulator`` (server.py) owns a :class:`~callcenter.sim.pbx.PBX` (state +
events), the queue engine (queues.py), call flows (calls.py, talk.py,
outbound.py), AMI actions (actions.py), WAV recordings (wav.py) and the random
call generator (scenario.py). ``ReplayServer`` (replay.py) serves a capture.
"""

from callcenter.sim.model import AgentScript, SimConfig, SurveyReply
from callcenter.sim.server import CallHandle, PBXSimulator

__all__ = ["AgentScript", "CallHandle", "PBXSimulator", "SimConfig", "SurveyReply"]
