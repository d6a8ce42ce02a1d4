"""Read Asterisk ``.conf`` files keeping the file and line of every setting.

The syntax Asterisk's config loader accepts: ``[section]`` headers with
``(!)`` (template), ``(tmpl,...)`` (inherit) and ``(+)`` (append) options,
``key = value`` and ``key => value`` lines, ``;`` comments (``\\;`` is a
literal semicolon), ``;-- ... --;`` block comments, and ``#include`` /
``#tryinclude`` of files relative to the configuration directory (a file not
found there is skipped: the secrets the Asterisk container renders at start).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

_HEADER = re.compile(r"^\[([^\]]+)\]\s*(?:\(([^)]*)\))?")
_INCLUDE = re.compile(r"^#\s*(include|tryinclude)\s+[\"<]?([^\">]+)[\">]?\s*$")
MAX_INCLUDE_DEPTH = 10


class ConfInputError(Exception):
    """A configuration file that cannot be read (missing, unreadable, not UTF-8)."""


@dataclass(frozen=True)
class Setting:
    """One ``key = value`` line; ``key`` is lower-cased, ``name`` as written."""

    key: str
    value: str
    file: str
    line: int
    name: str = ""


@dataclass
class Section:
    """A ``[name]`` category with its own settings (templates not applied)."""

    name: str
    file: str
    line: int
    template: bool = False
    bases: tuple[str, ...] = ()
    settings: list[Setting] = field(default_factory=list)


@dataclass
class ConfFile:
    """The sections of one configuration file, includes inlined, in file order."""

    name: str
    sections: list[Section] = field(default_factory=list)

    def named(self, name: str) -> list[Section]:
        """Every section called ``name`` (pjsip.conf reuses names across types)."""
        return [s for s in self.sections if s.name == name]

    def first(self, name: str) -> Section | None:
        """The first section called ``name``, if any."""
        found = self.named(name)
        return found[0] if found else None

    def chain(self, section: Section) -> list[Setting]:
        """The settings ``section`` ends up with: its templates' first, then its own."""
        out: list[Setting] = []
        for base in section.bases:
            parent = self._base(base, section)
            if parent is not None:
                out.extend(self.chain(parent))
        return out + section.settings

    def get(self, section: Section, key: str) -> Setting | None:
        """The effective (last) value of ``key`` in ``section``, templates applied."""
        found = [s for s in self.chain(section) if s.key == key]
        return found[-1] if found else None

    def _base(self, name: str, child: Section) -> Section | None:
        earlier = self.sections[: self.sections.index(child)]
        for cand in reversed(earlier):
            if cand.name == name:
                return cand
        return None


def _strip_comment(line: str, in_block: bool) -> tuple[str, bool]:
    """The text of ``line`` without comments, and whether a block comment stays open."""
    out: list[str] = []
    i = 0
    while i < len(line):
        if in_block:
            end = line.find("--;", i)
            if end < 0:
                return "".join(out), True
            i, in_block = end + 3, False
            continue
        ch = line[i]
        if ch == "\\" and line.startswith(";", i + 1):
            out.append(";")
            i += 2
        elif line.startswith(";--", i):
            i, in_block = i + 3, True
        elif ch == ";":
            break
        else:
            out.append(ch)
            i += 1
    return "".join(out), in_block


def read_text(path: Path) -> str:
    """The file's text; raises :class:`ConfInputError` with one clear line."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfInputError(f"{path}: file not found") from None
    except UnicodeDecodeError as exc:
        raise ConfInputError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise ConfInputError(f"{path}: cannot read ({exc.strerror or exc})") from None


def parse_conf(path: Path, conf_dir: Path | None = None) -> ConfFile:
    """Parse ``path``; ``#include`` names are resolved against ``conf_dir`` (its folder)."""
    conf = ConfFile(path.name)
    _parse_into(conf, path, conf_dir or path.parent, 0)
    return conf


def parse_conf_text(text: str, name: str) -> ConfFile:
    """Parse the text of one file called ``name`` (its ``#include`` lines are skipped)."""
    conf = ConfFile(name)
    _parse_lines(conf, text, name, lambda _line: None)
    return conf


def _parse_into(conf: ConfFile, path: Path, conf_dir: Path, depth: int) -> None:
    def include(line: str) -> None:
        m = _INCLUDE.match(line)
        target = conf_dir / m.group(2).strip() if m else None
        if target is not None and target.is_file() and depth < MAX_INCLUDE_DEPTH:
            _parse_into(conf, target, conf_dir, depth + 1)

    label = path.name if path.parent == conf_dir else str(path.relative_to(conf_dir))
    _parse_lines(conf, read_text(path), label, include)


def _parse_lines(conf: ConfFile, text: str, label: str, include: Callable[[str], None]) -> None:
    """Add the sections of ``text`` (file ``label``) to ``conf``; ``include`` takes ``#`` lines."""
    in_block = False
    current: Section | None = conf.sections[-1] if conf.sections else None
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped, in_block = _strip_comment(raw, in_block)
        line = stripped.strip()
        if not line:
            continue
        if line.startswith("#"):
            include(line)
            current = conf.sections[-1] if conf.sections else None
            continue
        header = _HEADER.match(line)
        if header:
            current = _open_section(conf, header.group(1).strip(), header.group(2), label, number)
        elif current is not None and "=" in line:
            key, _, value = line.partition("=")
            current.settings.append(
                Setting(key.strip().lower(), value.lstrip(">").strip(), label, number,
                        key.strip()))


def _open_section(conf: ConfFile, name: str, options: str | None, file: str,
                  line: int) -> Section:
    opts = [o.strip() for o in (options or "").split(",") if o.strip()]
    if "+" in opts:
        existing = conf.named(name)
        if existing:
            return existing[-1]
    section = Section(name, file, line, template="!" in opts,
                      bases=tuple(o for o in opts if o not in {"!", "+"}))
    conf.sections.append(section)
    return section
