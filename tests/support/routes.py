"""Every route of an app as (method, a concrete path): for sweeps over the whole app."""

from __future__ import annotations

import re


def routes(app: object) -> list[tuple[str, str]]:
    """(method, a concrete path) of every route but HEAD and static files."""
    out = []
    for route in app.router.routes():  # type: ignore[attr-defined]
        info = route.resource.get_info() if route.resource else {}
        if "pattern" in info:  # a dynamic route: a value for each parameter
            regex = re.sub(r"\(\?P<\w+>([^)]*)\)", sample, info["pattern"].pattern)
            path = re.sub(r"\\(.)", r"\1", regex)
        else:
            path = info.get("path") or info.get("prefix") or ""
        if path and route.method != "HEAD" and not path.startswith("/static"):
            out.append((route.method, path))
    return sorted(set(out))


def sample(match: re.Match[str]) -> str:
    """A value for a path parameter: the first word of ``a|b``, else 1."""
    pattern = match.group(1)
    return pattern.split("|")[0] if re.fullmatch(r"[\w|-]+", pattern) else "1"
