"""Signing in through the pages in tests."""

from __future__ import annotations

import re


def csrf_of(html: str) -> str:
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert match, html
    return match.group(1)
