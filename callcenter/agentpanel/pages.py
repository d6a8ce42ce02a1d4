"""The agent panel's server-rendered pages: a call and its note, customers, follow-ups.
Forms post back to the same address; bad input re-renders the form with the errors (400),
success redirects (303)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from multidict import MultiDict, MultiDictProxy

from callcenter.agentpanel.access import MANAGERS, call_agents
from callcenter.agentpanel.customers import PAGE_SIZE
from callcenter.agentpanel.followups import TakeRefused
from callcenter.agentpanel.forms import FormError, phone_list, positive_id
from callcenter.agentpanel.presence import NoPbx
from callcenter.agentpanel.profile import PREFIX
from callcenter.agentpanel.services import panel
from callcenter.refusals import NotFound
from callcenter.web.auth import Principal, current_user, require_role
from callcenter.web.keys import CATALOGUES, SETTINGS

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CUSTOMER_ROLES = ("agent", "supervisor", "admin")


def page(handler: Handler) -> Handler:
    """503 when there is no link to Asterisk (the services' refusals, 403 and 404, are said
    by the error pages: callcenter.web.errors)."""

    async def run(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except NoPbx as exc:
            raise web.HTTPServiceUnavailable(text=f"503: {exc}") from None

    return run


def render(request: web.Request, template: str, context: dict[str, Any],
           status: int = 200) -> web.StreamResponse:
    return aiohttp_jinja2.render_template(f"agent/{template}", request, context, status=status)


# -- a call and its note ------------------------------------------------------------------
@require_role("agent", "supervisor", "admin", "qa")
@page
async def call_page(request: web.Request) -> web.StreamResponse:
    """The call, its notes, and (for its agent) the note form."""
    principal = await current_user(request)
    return await _call_page(request, principal, {}, None, 200)


async def _call_page(request: web.Request, principal: Principal, posted: dict[str, Any],
                     errors: dict[str, str] | None, status: int) -> web.StreamResponse:
    server, linkedid = request.match_info["server"], request.match_info["linkedid"]
    desk = panel(request).notes
    call = await desk.call(principal, server, linkedid)
    notes = await desk.notes_of_call(principal, server, linkedid)
    mine = next((n for n in notes if n.agent == principal.agent), None)
    can_write = principal.role == "agent" and principal.agent in call_agents(call)
    return render(request, "call.html", {
        "call": call, "notes": notes, "mine": mine, "can_write": can_write,
        "posted": posted, "errors": errors or {},
        "categories": desk.settings.note_categories}, status)


@require_role("agent")
@page
async def save_note(request: web.Request) -> web.StreamResponse:
    principal = await current_user(request)
    posted = dict(await request.post())
    server, linkedid = request.match_info["server"], request.match_info["linkedid"]
    try:
        await panel(request).notes.save(principal, server, linkedid, posted)
    except FormError as exc:
        return await _call_page(request, principal, posted, exc.errors, 400)
    raise web.HTTPSeeOther(request.path + "?saved=1")


# -- customers ----------------------------------------------------------------------------
@require_role(*CUSTOMER_ROLES)
@page
async def customers_page(request: web.Request) -> web.StreamResponse:
    """The customer list: search by name, company or part of a number, sort, pages."""
    principal = await current_user(request)
    query, sort = request.query.get("q", ""), request.query.get("sort", "name")
    number = _page_number(request.query.get("page", "1"))
    found = await panel(request).customers.search(principal, query, sort, number)
    pages = max(1, -(-found.total // PAGE_SIZE))
    return render(request, "customers.html", {
        "q": query, "sort": sort, "found": found, "page": number, "pages": pages,
        "tier_label": request.app[SETTINGS].customers.tier_label})


def _page_number(value: str) -> int:
    return int(value) if value.isdigit() and 0 < int(value) < 10**6 else 1


@require_role(*CUSTOMER_ROLES)
@page
async def customer_page(request: web.Request) -> web.StreamResponse:
    """One customer (or a blank form for ``new``) with their profile and call history."""
    principal = await current_user(request)
    return await _customer_page(request, principal, None, 200)


async def _customer_page(request: web.Request, principal: Principal,
                         errors: dict[str, str] | None, status: int,
                         posted: dict[str, Any] | None = None) -> web.StreamResponse:
    desk = panel(request).customers
    key = request.match_info.get("id", "new")
    customer = None if key == "new" else await desk.get(principal, _id(key))
    history = await desk.history(principal, customer) if customer else []
    if posted is None:
        posted = {"name": customer.name, "company": customer.company, "notes": customer.notes,
                  "phones": ", ".join(customer.phones), "key_account": customer.key_account,
                  "tier": customer.tier or "", **desk.profile.form_values(customer.profile)
                  } if customer else {"phones": request.query.get("number", "")}
    settings = request.app[SETTINGS].customers
    return render(request, "customer.html", {
        "customer": customer, "history": history, "posted": posted, "errors": errors or {},
        "editable_numbers": principal.role == "agent", "profile_fields": settings.fields,
        "tiers": list(settings.tiers), "tier_label": settings.tier_label,
        "can_set_key_account": principal.role in MANAGERS,
        "saved": request.query.get("saved") == "1"}, status)


@require_role(*CUSTOMER_ROLES)
@page
async def save_customer(request: web.Request) -> web.StreamResponse:
    """Create (``/agent/customers/new``) or edit a customer."""
    principal = await current_user(request)
    form: MultiDictProxy[Any] = await request.post()
    data: MultiDict[Any] = MultiDict(form)
    desk = panel(request).customers
    key = request.match_info.get("id", "new")
    if key != "new" and principal.role != "agent":
        # numbers are masked for managers: keep the stored ones
        current = await desk.get(principal, _id(key))
        data["phones"] = current.phones
    try:
        if key == "new":
            customer = await desk.create(principal, data)
        else:
            customer = await desk.update(principal, _id(key), data)
    except FormError as exc:
        posted: dict[str, Any] = dict(data)
        for f in desk.profile.fields:
            if f.type == "multi-choice":
                posted[PREFIX + f.name] = data.getall(PREFIX + f.name, [])
        posted["phones"] = ", ".join(phone_list(data.get("phones")))
        return await _customer_page(request, principal, exc.errors, 400, posted)
    raise web.HTTPSeeOther(f"/agent/customers/{customer.id}?saved=1")


def _id(value: str) -> int:
    try:
        return positive_id(value)
    except FormError:
        raise NotFound("No such id: %(id)s.", id=value[:20]) from None


# -- follow-ups ---------------------------------------------------------------------------
@require_role("agent")
@page
async def follow_ups_page(request: web.Request) -> web.StreamResponse:
    """The agent's follow-ups with click-to-call, and a form to plan one."""
    principal = await current_user(request)
    return await _follow_ups_page(request, principal, {}, None, 200)


async def _follow_ups_page(request: web.Request, principal: Principal,
                           posted: dict[str, Any], errors: dict[str, str] | None,
                           status: int, refused: str | None = None) -> web.StreamResponse:
    desk = panel(request).follow_ups
    return render(request, "follow_ups.html", {
        "follow_ups": await desk.listing(principal, open_only=False),
        "pool": await desk.pool(principal), "queues": await desk.queues(principal),
        "posted": posted, "errors": errors or {}, "refused": refused,
        "default_time": request.app[SETTINGS].agent_panel.follow_up_time}, status)


@require_role("agent")
@page
async def add_follow_up(request: web.Request) -> web.StreamResponse:
    principal = await current_user(request)
    posted = dict(await request.post())
    try:
        await panel(request).follow_ups.add(principal, posted)
    except FormError as exc:
        return await _follow_ups_page(request, principal, posted, exc.errors, 400)
    raise web.HTTPSeeOther("/agent/follow-ups")


@require_role("agent")
@page
async def take_follow_up(request: web.Request) -> web.StreamResponse:
    """Take a follow-up from a queue's pool; 409 with who took it when a colleague was
    first."""
    principal = await current_user(request)
    try:
        await panel(request).follow_ups.take(principal, _id(request.match_info["id"]))
    except TakeRefused as exc:
        _ = request.app[CATALOGUES].gettext(principal.language)
        return await _follow_ups_page(request, principal, {}, None, 409,
                                      _(exc.message, **exc.params))
    raise web.HTTPSeeOther("/agent/follow-ups")


@require_role("agent")
@page
async def follow_up_status(request: web.Request) -> web.StreamResponse:
    principal = await current_user(request)
    posted = await request.post()
    try:
        await panel(request).follow_ups.set_status(principal, _id(request.match_info["id"]),
                                                    str(posted.get("status", "")))
    except FormError as exc:
        return await _follow_ups_page(request, principal, {}, exc.errors, 400)
    raise web.HTTPSeeOther("/agent/follow-ups")


@require_role("supervisor", "admin")
@page
async def overdue_follow_ups(request: web.Request) -> web.StreamResponse:
    """Supervisors: the open follow-ups past their due time, by agent or queue."""
    principal = await current_user(request)
    agent = "" if request.query.get("pool") == "1" else request.query.get("agent") or None
    queue = request.query.get("queue") or None
    now = datetime.now(UTC)
    items = await panel(request).follow_ups.overdue(principal, now, agent and agent[:64],
                                                    queue and queue[:64])
    return render(request, "overdue_follow_ups.html", {
        "follow_ups": items, "agent": agent, "queue": queue or "", "now": now})


# -- complaints (moved) -------------------------------------------------------------------
@require_role(*CUSTOMER_ROLES)
async def complaints_moved(request: web.Request) -> web.StreamResponse:
    """The complaints are at /complaints now (callcenter.complaints)."""
    raise web.HTTPMovedPermanently("/complaints")


def add_routes(app: web.Application) -> None:
    """The page routes (called by :func:`callcenter.agentpanel.web.setup`)."""
    r = app.router
    r.add_get("/agent/calls/{server}/{linkedid}", call_page)
    r.add_post("/agent/calls/{server}/{linkedid}", save_note)
    r.add_get("/agent/customers", customers_page)
    r.add_get("/agent/customers/{id}", customer_page)
    r.add_post("/agent/customers/{id}", save_customer)
    r.add_get("/agent/follow-ups", follow_ups_page)
    r.add_post("/agent/follow-ups", add_follow_up)
    r.add_post("/agent/follow-ups/{id}/status", follow_up_status)
    r.add_post("/agent/follow-ups/{id}/take", take_follow_up)
    r.add_get("/agent/follow-ups/overdue", overdue_follow_ups)
    r.add_get("/agent/complaints", complaints_moved)
