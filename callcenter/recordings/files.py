"""Recording files on disk: path mapping, waiting for completion, filing, safe lookup.

Paths Asterisk announces are mapped from ``asterisk_dir`` to ``local_dir``
(containers see the spool under different paths); a path that would leave
the monitor directories is refused (:class:`RefusedPath`) before anything
touches the file: an AMI event names the path, and AMI input is not trusted. Filed recordings live under
``store_dir`` at ``YYYY/MM/DD/<server>_<linkedid>_<n><ext>`` (the call's UTC
start date); only :func:`resolve_stored` turns a stored relative path back
into a file, and it refuses anything that would leave ``store_dir``.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")


class RefusedPath(ValueError):
    """A recording path outside the monitor directories: its file is never touched."""


def map_path(announced: str, asterisk_dir: str, local_dir: str) -> Path:
    """Where the daemon finds the file Asterisk announced as ``announced``, always
    inside ``local_dir``.

    A path under ``asterisk_dir`` (or already under ``local_dir``) is moved under
    ``local_dir``; a relative one (MixMonitor's default directory) is taken inside
    ``local_dir``. Raises :class:`RefusedPath` for any other absolute path, a ``..``
    part, a NUL byte, and whatever :func:`check_inside` refuses.
    """
    if not announced or "\x00" in announced:
        raise RefusedPath("an empty path or a NUL byte")
    src = PurePosixPath(announced)
    if ".." in src.parts:
        raise RefusedPath("a '..' part")
    rel = src if not src.is_absolute() else next(
        (src.relative_to(base) for base in map(PurePosixPath, (asterisk_dir, local_dir))
         if base.is_absolute() and src.is_relative_to(base)), None)
    if rel is None:
        raise RefusedPath(f"outside {asterisk_dir} (and {local_dir})")
    local = Path(local_dir) / rel
    check_inside(local, local_dir)
    return local


def check_inside(path: Path, root_dir: str | Path) -> None:
    """Raise :class:`RefusedPath` unless ``path`` is strictly inside ``root_dir`` once
    both are resolved (no symlink on the way out), is not itself a symlink, and is a
    regular file if it exists. Reads metadata only (link targets, file type)."""
    try:
        root = Path(root_dir).resolve()
        real = path.resolve()
        link, kind = path.is_symlink(), path.exists() and not path.is_file()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop (Python < 3.13)
        raise RefusedPath(f"unresolvable: {exc}") from None
    if real == root or not real.is_relative_to(root):
        raise RefusedPath(f"its real path {real} is outside {root}")
    if link:
        raise RefusedPath("a symlink")
    if kind:
        raise RefusedPath("not a regular file")


def stored_name(server: str, linkedid: str, index: int, file_name: str,
                started_at: datetime) -> str:
    """The relative store path of a call's ``index``-th recording (1-based), '/'-separated."""
    ext = PurePosixPath(file_name).suffix.lower()
    if _UNSAFE.search(ext):
        ext = ""
    stem = f"{_UNSAFE.sub('_', server)}_{_UNSAFE.sub('_', linkedid)}_{index}"
    return f"{started_at:%Y/%m/%d}/{stem}{ext}"


def resolve_stored(store_dir: str | Path, rel: str) -> Path | None:
    """The file of stored relative path ``rel`` inside ``store_dir``, or None when
    ``rel`` is absolute, climbs out (``..``, symlinks) or is empty."""
    if not rel or "\x00" in rel:
        return None
    root = Path(store_dir).resolve()
    candidate = PurePosixPath(rel)
    if candidate.is_absolute() or ".." in candidate.parts:
        return None
    full = (root / candidate).resolve()
    return full if full.is_relative_to(root) and full != root else None


async def wait_complete(path: Path, stable_s: float, max_wait_s: float,
                        poll_s: float | None = None) -> int | None:
    """Wait until ``path`` exists and neither its size nor its modification time has
    changed for ``stable_s`` seconds (a header rewritten in place counts as a change).

    Gives up after ``max_wait_s`` seconds: returns the last size seen, or None
    when the file never appeared.
    """
    poll = poll_s if poll_s is not None else max(0.01, min(0.25, stable_s / 4 or 0.05))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max_wait_s
    last: tuple[int, int] | None = None
    since = 0.0
    while True:
        now = loop.time()
        try:
            st = path.stat()
            seen: tuple[int, int] | None = (st.st_size, st.st_mtime_ns)
        except (FileNotFoundError, NotADirectoryError):
            seen = None
        if seen is not None and seen == last and now - since >= stable_s:
            return seen[0]
        if seen != last:
            last, since = seen, now
        if now >= deadline:
            return None if last is None else last[0]
        await asyncio.sleep(poll)


def sha256_of(path: Path) -> str:
    """The SHA-256 (hex) of the file's content."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def move_into_store(src: Path, store_dir: str | Path, rel: str) -> Path:
    """Move ``src`` to ``store_dir/rel`` (across file systems too: copy, fsync, rename)."""
    target = Path(store_dir) / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(src, target)
    except OSError:
        partial = target.with_name(target.name + ".part")
        shutil.copyfile(src, partial)
        with partial.open("rb") as fh:
            os.fsync(fh.fileno())
        os.replace(partial, target)
        src.unlink()
    return target


@dataclass(frozen=True)
class SpoolFile:
    """A regular file found in the monitor directory: ``rel`` is '/'-separated, relative
    to the directory scanned; ``mtime`` in Unix seconds."""

    rel: str
    size: int
    mtime: float

    @property
    def name(self) -> str:
        """The file's base name."""
        return self.rel.rsplit("/", 1)[-1]


class SpoolScan:
    """Walks ``root`` a page at a time (call :meth:`next_page` from a worker thread: a
    directory of 100,000 files never blocks the event loop, nor fills memory at once).

    Only regular files are listed: symlinks (to files or directories) are skipped, never
    followed; so are hidden names, ``.part`` files, directories deeper than
    ``max_depth`` and the directories of ``skip`` (the store, if it lies inside).
    """

    def __init__(self, root: str | Path, *, skip: tuple[str | Path, ...] = (),
                 max_depth: int = 4) -> None:
        self.root = Path(root)
        self.max_depth = max_depth
        self._skip = {Path(p).resolve() for p in skip}
        self._stack: list[tuple[Iterator[os.DirEntry[str]], str, int]] = []
        self._started = False

    @property
    def done(self) -> bool:
        """True once every directory has been read (or the scan was closed)."""
        return self._started and not self._stack

    def next_page(self, size: int) -> list[SpoolFile]:
        """Up to ``size`` more files ([] once :attr:`done`)."""
        if not self._started:
            self._started = True
            self._enter(self.root, "", 0)
        out: list[SpoolFile] = []
        while self._stack and len(out) < size:
            it, rel, depth = self._stack[-1]
            try:
                entry = next(it, None)
            except OSError:
                entry = None
            if entry is None:
                self._stack.pop()
                _close(it)
                continue
            if entry.name.startswith(".") or entry.name.endswith(".part"):
                continue
            try:
                if entry.is_symlink():
                    continue
                if entry.is_dir(follow_symlinks=False):
                    if depth < self.max_depth and Path(entry.path).resolve() not in self._skip:
                        self._enter(Path(entry.path), f"{rel}{entry.name}/", depth + 1)
                    continue
                if not entry.is_file(follow_symlinks=False):
                    continue
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            out.append(SpoolFile(rel + entry.name, st.st_size, st.st_mtime))
        return out

    def close(self) -> None:
        """Release the open directories."""
        while self._stack:
            _close(self._stack.pop()[0])

    def _enter(self, path: Path, rel: str, depth: int) -> None:
        if path.resolve() in self._skip:
            return
        try:
            self._stack.append((os.scandir(path), rel, depth))
        except OSError:  # gone, unreadable, not a directory
            pass


def _close(it: Iterator[os.DirEntry[str]]) -> None:
    close = getattr(it, "close", None)
    if close is not None:
        close()


_EPOCH_SEQ = re.compile(r"[0-9]{9,11}\.[0-9]+")
_SEPARATORS = "-_"


def call_ids_in_name(name: str, limit: int = 8) -> list[str]:
    """The uniqueids / linkedids a recording's file name may carry, longest first.

    An Asterisk uniqueid is ``[systemname-]<epoch>.<sequence>``; MixMonitor file names
    put it anywhere between ``-``/``_`` separators (``${UNIQUEID}.wav``, the shipped
    ``<date>-<time>-<caller>-${UNIQUEID}.wav``, FreePBX's ``in-<to>-<from>-<date>-<time>-
    ${UNIQUEID}.wav``). Each ``<epoch>.<sequence>`` found gives itself and every
    separator-bounded prefix extension (a systemname may contain ``-``); the ``limit``
    shortest are kept."""
    stem = name
    dot = name.rfind(".")
    if dot > 0 and any(c.isalpha() for c in name[dot + 1:]):
        stem = name[:dot]  # the format's extension; '.0' of a bare uniqueid stays
    out: list[str] = []
    for m in _EPOCH_SEQ.finditer(stem):
        start, end = m.span()
        if start > 0 and stem[start - 1] not in _SEPARATORS:
            continue
        if end < len(stem) and stem[end] not in _SEPARATORS:
            continue
        starts = [i + 1 for i in range(start - 1) if stem[i] in _SEPARATORS]
        out += [stem[s:end] for s in [0, *starts]] + [m.group()]
    shortest = sorted(dict.fromkeys(out), key=len)[:limit]  # a systemname is short
    return shortest[::-1]
