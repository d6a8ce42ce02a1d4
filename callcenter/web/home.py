"""Each role's home page: what that role needs first, contributed by the feature modules.

A feature adds a section with :func:`add_home_section` (a template under
``templates/home/`` and a loader giving its context); ``/`` shows the sections of the
user's role in the order they were added, then the links of the navigation bar.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from callcenter.web.auth import Principal

Loader = Callable[[web.Request, Principal], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class HomeSection:
    """A block of the home page for ``roles``: ``template`` rendered with ``load``'s context."""

    template: str
    roles: frozenset[str]
    load: Loader


HOME = web.AppKey("home_sections", list)
"""The home page's sections (HomeSection), in order."""


def add_home_section(app: web.Application, template: str, roles: Iterable[str],
                     load: Loader) -> None:
    """Show ``templates/home/<template>`` to users of ``roles`` on their home page."""
    if HOME not in app:
        app[HOME] = []
    app[HOME].append(HomeSection(template, frozenset(roles), load))


async def home_sections(request: web.Request, who: Principal) -> list[tuple[str, dict[str, Any]]]:
    """(template, context) of each section ``who``'s role sees."""
    sections: list[HomeSection] = request.app.get(HOME, [])
    return [(f"home/{s.template}", await s.load(request, who)) for s in sections
            if who.role in s.roles]
