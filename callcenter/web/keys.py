"""The application keys of the web app (``app[SETTINGS]``, ``app[POOL]``, ...)."""

from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp import web

from callcenter.settings import Settings
from callcenter.store.audit import AuditRepository
from callcenter.store.users import UserRepository
from callcenter.web.i18n import Catalogues
from callcenter.web.throttle import LoginThrottle

SETTINGS = web.AppKey("settings", Settings)
POOL = web.AppKey("pool", asyncpg.Pool)
LIVE = web.AppKey("live", Any)
"""The live state consumer (callcenter.live), or None when the app runs without a daemon."""
COMMANDS = web.AppKey("commands", Any)
"""The command port to Asterisk (pause agent, redirect, originate), or None."""
AUDIT = web.AppKey("audit", AuditRepository)
USERS = web.AppKey("users", UserRepository)
API_DOC = web.AppKey("api_doc", dict)
"""The OpenAPI ``paths`` of /api/v1, filled by ``callcenter.web.api.add_api``."""
NAV = web.AppKey("nav", list)
"""The navigation entries (callcenter.web.nav.NavEntry), in order."""
CATALOGUES = web.AppKey("catalogues", Catalogues)
THROTTLE = web.AppKey("throttle", LoginThrottle)

SESSION = web.RequestKey("cc_session", object)
"""The request's session (callcenter.store.users.Session) or None, once looked up."""
LOGIN_CSRF = web.RequestKey("cc_login_csrf", str)
"""The sign-in form's CSRF token (a double-submit cookie) of a request without a session."""
