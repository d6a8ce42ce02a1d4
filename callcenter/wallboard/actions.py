"""Supervisors act on an agent from the wallboard: pause with a reason, unpause, remove
from a queue.

``POST /wallboard/agents/{agent}/{pause|unpause|remove}`` (form fields ``reason``,
``queue``; CSRF like every form) goes through the agent panel's
:class:`~callcenter.agentpanel.presence.Presence` service: the command port, the
configured pause reasons, an audit row per action. The answer is JSON ``{"ok",
"status", "message"}`` where ``message`` is our own sentence in the user's language,
never Asterisk's English; what Asterisk said goes to the audit row.
"""

from __future__ import annotations

from typing import cast

from aiohttp import web

from callcenter.agentpanel.presence import NoPbx, Presence
from callcenter.commands import CommandPort, CommandResult
from callcenter.formfields import FormError
from callcenter.live import LiveConsumer
from callcenter.web.auth import current_user, require_role
from callcenter.web.keys import AUDIT, CATALOGUES, COMMANDS, LIVE, POOL, SETTINGS
from callcenter.web.words import labeller

ROLES = ("supervisor", "admin")
PRESENCE = web.AppKey("wallboard_presence", Presence)
DONE = {
    "pause": "%(agent)s is paused: %(reason)s.",
    "unpause": "%(agent)s is no longer paused.",
    "remove": "%(agent)s was removed from queue %(queue)s.",
}
NOT_THERE = {
    "pause": "Asterisk does not know %(agent)s in any queue: nothing was changed.",
    "unpause": "Asterisk does not know %(agent)s in any queue: nothing was changed.",
    "remove": "%(agent)s is not in queue %(queue)s: nothing was changed.",
}
FAILED = "Asterisk did not carry out the action on %(agent)s: nothing was changed."
NO_PBX = "No connection to the Asterisk server of %(agent)s: nothing was changed."
HTTP_STATUS = {"ok": 200, "too_late": 409, "failed": 502}


def outcome(action: str, result: CommandResult) -> str:
    """The msgid telling what ``result`` means for ``action`` (QueueRemove's "Not there"
    is the member already gone, like QueuePause's "Interface not found")."""
    if result.ok:
        return DONE[action]
    if result.status == "too_late" or "not there" in result.message.lower():
        return NOT_THERE[action]
    return FAILED


def on_board(request: web.Request, agent: str) -> bool:
    """True when ``agent`` is on the live board (the only agents the board can act on)."""
    live = request.app[LIVE]
    return isinstance(live, LiveConsumer) and agent in live.state.agents


@require_role(*ROLES)
async def act(request: web.Request) -> web.StreamResponse:
    """Pause / unpause / remove ``agent``; our translated sentence back, Asterisk's answer
    in the audit log."""
    principal = await current_user(request)
    _ = request.app[CATALOGUES].gettext(principal.language)
    agent, action = request.match_info["agent"], request.match_info["action"]
    if not on_board(request, agent):
        return web.json_response({"ok": False, "status": "failed",
                                  "message": _("No such agent on the board.")}, status=404)
    form = await request.post()
    reason, queue = str(form.get("reason") or ""), str(form.get("queue") or "")
    presence = request.app[PRESENCE]
    params = {"agent": agent, "reason": labeller(_)("pause_reason", reason), "queue": queue}
    try:
        if action == "remove":
            result = await presence.leave(principal, queue, agent)
        else:
            result = await presence.pause(principal, action == "pause", reason, agent)
    except FormError as exc:
        return web.json_response({"ok": False, "status": "failed", "message": " ".join(
            _(m) for m in exc.errors.values())}, status=400)
    except NoPbx:
        return web.json_response({"ok": False, "status": "failed",
                                  "message": _(NO_PBX, **params)}, status=503)
    return web.json_response({"ok": result.ok, "status": result.status,
                              "message": _(outcome(action, result), **params)},
                             status=HTTP_STATUS[result.status])


def add_routes(app: web.Application) -> None:
    """The action route and its Presence service (the app's command port and audit log);
    called by :func:`callcenter.wallboard.web.setup`."""
    commands = cast("CommandPort | None", app[COMMANDS])
    app[PRESENCE] = Presence(app[SETTINGS].agent_panel, app[POOL], commands, app[AUDIT])
    app.router.add_post("/wallboard/agents/{agent}/{action:pause|unpause|remove}", act)
