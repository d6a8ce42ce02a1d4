"""``create_app``: the aiohttp application with sessions, CSRF, templates and every feature.

Feature modules (``FEATURES``, one ``<feature>.web`` per feature package, see
docs/layers.md) plug in with ``setup(app)``; each one that is installed is set up,
in order, after the app's own pages.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp_jinja2
import asyncpg
import jinja2
from aiohttp import web

from callcenter.db import DATABASE_DOWN
from callcenter.settings import Settings
from callcenter.store.audit import AuditRepository
from callcenter.store.logins import LoginRepository
from callcenter.store.users import UserRepository
from callcenter.web import api, pages
from callcenter.web.auth import csrf_middleware, csrf_token, security_headers, user_and_language
from callcenter.web.errors import error_pages
from callcenter.web.i18n import LANGUAGE_NAMES, Catalogues
from callcenter.web.keys import (
    API_DOC,
    AUDIT,
    CATALOGUES,
    COMMANDS,
    LIVE,
    NAV,
    POOL,
    SETTINGS,
    THROTTLE,
    USERS,
)
from callcenter.web.limits import FORM_LIMIT, body_limit
from callcenter.web.masking import mask_call_text, mask_number
from callcenter.web.nav import nav_for
from callcenter.web.throttle import LoginThrottle
from callcenter.web.words import labeller, words_of

HERE = Path(__file__).parent
CORE_FEATURES = ("callcenter.wallboard.web", "callcenter.web.users", "callcenter.web.account")
"""The app shell's own feature modules (and the wallboard, always present)."""
FEATURES = (
    *CORE_FEATURES,
    "callcenter.recordings.web",
    "callcenter.reports.web",
    "callcenter.qa.web",
    "callcenter.agentpanel.web",
    "callcenter.console.web",
    "callcenter.monitoring.web",
    "callcenter.complaints.web",
)


def installed(module: str) -> bool:
    """True when ``module`` can be imported (its package exists)."""
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def localtime_filter(tz: str) -> Any:
    """The Jinja filter ``localtime``: a datetime (or ISO 8601 string; naive means UTC)
    shown in the centre's time zone ``tz``."""
    zone = ZoneInfo(tz)

    def localtime(value: datetime | str | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
        if not value:
            return ""
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(zone).strftime(fmt)

    return localtime


def duration(seconds: float | None) -> str:
    """Seconds as ``m:ss`` (``h:mm:ss`` from an hour); '' for None."""
    if seconds is None:
        return ""
    s = max(0, round(seconds))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


async def template_context(request: web.Request) -> dict[str, Any]:
    """What every template sees: ``_``, ``label`` (the words of codes) and ``words`` (all
    of a kind, for scripts), ``user``, ``nav``,
    ``csrf_token``, ``lang``, ``language_names``, ``mask``."""
    app = request.app
    principal, lang = await user_and_language(request)
    try:
        csrf = await csrf_token(request)
    except DATABASE_DOWN:  # the error page of a database outage is drawn without a user
        csrf = ""
    _ = app[CATALOGUES].gettext(lang)
    label = labeller(_)
    return {
        "_": _, "gettext": _, "label": label, "lang": lang,
        "words": lambda kind, extra=(): words_of(label, kind, extra),
        "language_names": LANGUAGE_NAMES, "user": principal,
        "nav": nav_for(app, principal.role) if principal else [],
        "csrf_token": csrf, "request": request,
        "company_name": app[SETTINGS].web.company_name,
        "mask": (lambda n: mask_number(n, principal)) if principal else (lambda n: ""),
        "mask_text": partial(mask_call_text, principal=principal),
    }


def login_throttle(settings: Settings, pool: asyncpg.Pool,
                   audit: AuditRepository) -> LoginThrottle:
    """The sign-in throttle of ``settings.web``."""
    web_settings = settings.web
    logins = LoginRepository(
        pool, window_s=web_settings.login_window_s, user_limit=web_settings.login_max_failures,
        address_limit=web_settings.login_address_max_failures)
    return LoginThrottle(logins, audit, max_verifying=web_settings.login_max_verifying)


def create_app(settings: Settings, pool: asyncpg.Pool, *, live: Any = None,
               commands: Any = None, features: Sequence[str] = FEATURES) -> web.Application:
    """The web application on ``pool``; ``live`` is the live-state consumer (or None)."""
    app = web.Application(middlewares=[security_headers, error_pages, body_limit,
                                       csrf_middleware],
                          client_max_size=FORM_LIMIT)
    app[SETTINGS], app[POOL], app[LIVE], app[COMMANDS] = settings, pool, live, commands
    app[AUDIT], app[USERS] = AuditRepository(pool), UserRepository(pool)
    app[NAV], app[CATALOGUES], app[API_DOC] = [], Catalogues(), {}
    app[THROTTLE] = login_throttle(settings, pool, app[AUDIT])
    aiohttp_jinja2.setup(
        app, loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
        context_processors=[template_context],
        filters={"localtime": localtime_filter(settings.web.timezone), "duration": duration})
    app.router.add_static("/static", HERE / "static", name="static")
    pages.setup(app)
    api.setup(app)
    for module in features:
        if installed(module):
            importlib.import_module(module).setup(app)
    return app
