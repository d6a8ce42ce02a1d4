"""Rows as column arrays, for single statements over a batch (``INSERT ... FROM unnest``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

CALL_KEYS_IN = "(server, linkedid) IN (SELECT * FROM unnest($1::text[], $2::text[]))"
"""A WHERE condition: the calls whose servers and linkedids are ``$1`` and ``$2`` (arrays)."""


def columns(rows: Iterable[tuple[Any, ...]], width: int) -> list[list[Any]]:
    """``rows`` (each ``width`` values) as ``width`` lists, one per column; empty lists when none."""
    out = [list(column) for column in zip(*rows, strict=True)]
    if not out:
        return [[] for _ in range(width)]
    if len(out) != width:
        raise ValueError(f"rows of {len(out)} values, {width} expected")
    return out
