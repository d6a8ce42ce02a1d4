"""The navigation bar: entries added by the app and by feature modules, filtered by role."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from aiohttp import web

from callcenter.web.keys import NAV


@dataclass(frozen=True)
class NavEntry:
    """A link of the navigation bar; ``label`` is an English msgid (translated when shown)."""

    path: str
    label: str
    roles: frozenset[str]


def add_nav(app: web.Application, path: str, label: str, roles: Iterable[str]) -> None:
    """Show a link to ``path`` labelled ``label`` to users of ``roles``."""
    app[NAV].append(NavEntry(path, label, frozenset(roles)))


def nav_for(app: web.Application, role: str) -> list[NavEntry]:
    """The entries a user of ``role`` sees, in the order they were added."""
    return [e for e in app[NAV] if role in e.roles]
