"""Error pages: 400, 403, 404, 405, 413, 429, 500 and the like in the layout, translated,
with a way back.

A page request that ends in an HTTP error with a plain-text body (or in an
exception: 500) gets ``error.html`` in the user's language: what happened, the
handler's own sentence when the catalogue has it, links home and back. JSON
answers (the API, ``/api/...``, handlers that answer JSON) and redirects are
left as they are. The status code is kept.
"""

from __future__ import annotations

import re

import aiohttp_jinja2
import structlog
from aiohttp import web

from callcenter.db import DATABASE_DOWN
from callcenter.refusals import Refusal
from callcenter.web.auth import Handler, is_api, user_and_language
from callcenter.web.keys import CATALOGUES, SETTINGS

log = structlog.get_logger(__name__)

TITLES = {
    400: "The request is not valid", 403: "You may not open this page",
    404: "Page not found", 405: "This page cannot be used that way",
    413: "The request is too large", 429: "Too many attempts",
    500: "Something went wrong on our side", 503: "The service is busy or unavailable",
}
"""Our title of each error status (English msgids)."""
SAYS = {
    400: "Please check what you entered and try again.",
    403: "Your role does not give access to this page. Ask a supervisor or an administrator "
         "if you need it.",
    404: "The address may be mistyped, or what it showed no longer exists.",
    405: "Go back and use the page's own buttons and links.",
    413: "Send less at once.",
    429: "Wait a little, then try again.",
    500: "The error was logged. Try again in a moment; if it happens again, tell your "
         "administrator.",
    503: "Try again in a moment.",
}
"""What to do about each error status (English msgids)."""
_PREFIX = re.compile(r"^\d{3}: ")
DATABASE_DOWN_SAYS = "The call database cannot be reached right now."


def wants_page(request: web.Request, exc: web.HTTPException) -> bool:
    """True when ``exc`` should be shown as an error page (a page request, a text body)."""
    return (exc.status >= 400 and not is_api(request)
            and (exc.content_type or "text/plain") == "text/plain")


def detail_of(exc: web.HTTPException) -> str:
    """The handler's own sentence (its English msgid), '' when it only repeats the reason."""
    text = _PREFIX.sub("", exc.text or "").strip()
    return "" if text in (exc.reason, f"{exc.status}: {exc.reason}") else text


async def render_error(request: web.Request, status: int, detail: str = "") -> web.Response:
    """The error page of ``status``: without the user's context (no session, the
    default language) when that cannot be read, plain text when even that fails."""
    general = 500 if status >= 500 and status not in TITLES else status
    context = {"status": status, "title": TITLES.get(general, "The request is not valid"),
               "says": SAYS.get(general, SAYS[400]), "detail": detail}
    try:
        return aiohttp_jinja2.render_template("error.html", request, context, status=status)
    except Exception as exc:  # noqa: BLE001 - the database may be what failed
        log.warning("error_page_failed", status=status, error=repr(exc))
    try:
        return web.Response(status=status, content_type="text/html",
                            text=_bare_page(request, context))
    except Exception as exc:  # noqa: BLE001 - the last resort: plain text
        log.warning("bare_error_page_failed", status=status, error=repr(exc))
        return web.Response(status=status, text=f"{status}: {detail or TITLES.get(general)}")


def _bare_page(request: web.Request, context: dict[str, object]) -> str:
    """error.html without the session: the default language, no user, no navigation."""
    app = request.app
    settings = app[SETTINGS]
    lang = settings.web.default_language
    return aiohttp_jinja2.get_env(app).get_template("error.html").render(
        context, _=app[CATALOGUES].gettext(lang), lang=lang, user=None, nav=[],
        csrf_token="", request=request, company_name=settings.web.company_name)


@web.middleware
async def error_pages(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn plain-text HTTP errors, refusals (said in the user's language) and unexpected
    exceptions of pages into error pages (JSON for the API)."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if not wants_page(request, exc):
            raise
        return await render_error(request, exc.status, detail_of(exc))
    except Refusal as exc:
        _user, lang = await user_and_language(request)
        said = exc.said(request.app[CATALOGUES].gettext(lang))
        if is_api(request):
            return web.json_response({"error": said}, status=exc.status)
        return await render_error(request, exc.status, said)
    except DATABASE_DOWN as exc:
        log.error("web_database_unreachable", path=request.path, error=repr(exc))
        if is_api(request):
            return web.json_response({"error": "database_unreachable"}, status=503)
        return await render_error(request, 503, DATABASE_DOWN_SAYS)
    except Exception:
        if is_api(request):
            raise
        log.exception("web_request_failed", path=request.path, method=request.method)
        return await render_error(request, 500)
