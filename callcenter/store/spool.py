"""A durable local spool: append-only JSON lines, fsynced, replayed in order."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import structlog

log = structlog.get_logger(__name__)


class Spool:
    """Operations waiting for the database, in the order they were made.

    Each :meth:`append` is on disk (fsync) before it returns. Lines are read
    back from the first one not yet :meth:`advance`-d past; :meth:`clear`
    empties the file once everything has been applied. A torn last line (a
    crash mid-write) is skipped with a warning. One process per directory.
    """

    def __init__(self, directory: str | Path, name: str = "store.jsonl") -> None:
        self.dir = Path(directory)
        self.path = self.dir / name
        self.rejected_path = self.dir / ("rejected-" + name)
        self._applied = 0
        self._count = self._count_lines()

    def _count_lines(self) -> int:
        if not self.path.exists():
            return 0
        with self.path.open("rb") as fh:
            return sum(1 for _ in fh)

    def __len__(self) -> int:
        """Operations waiting (not yet applied)."""
        return self._count - self._applied

    def append(self, op: dict[str, Any]) -> None:
        """Write ``op`` durably at the end of the spool."""
        self._write(self.path, op)
        self._count += 1

    def reject(self, op: dict[str, Any]) -> None:
        """Keep an operation the database refused (not a connectivity error) aside."""
        self._write(self.rejected_path, op)

    def _write(self, path: Path, op: dict[str, Any]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        data = (json.dumps(op, separators=(",", ":")) + "\n").encode()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)

    def pending(self) -> list[dict[str, Any] | None]:
        """The waiting operations in order (None for an unreadable line)."""
        if not self.path.exists():
            return []
        out: list[dict[str, Any] | None] = []
        with self.path.open(encoding="utf-8", errors="replace") as fh:
            for i, line in enumerate(fh):
                if i < self._applied:
                    continue
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    log.warning("spool_line_unreadable", path=str(self.path), line=i + 1)
                    out.append(None)
        return out

    def advance(self) -> None:
        """Mark the first waiting operation as applied."""
        self._applied += 1

    def clear(self) -> None:
        """Empty the spool (every operation applied)."""
        fd = os.open(self.path, os.O_WRONLY | os.O_TRUNC | os.O_CREAT, 0o600)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        self._applied = self._count = 0
