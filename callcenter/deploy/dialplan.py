"""extensions.conf as steps: context, extension, priority, label, application, data.

Built on :mod:`callcenter.asterisk_conf`; understands ``exten =>``, ``same =>``,
``n`` / ``n(label)`` / ``<number>(label)`` priorities, ``include =>`` and the
``[globals]`` variables (``${NAME}`` is expanded with them where a check needs
a value, e.g. a Dial timeout).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from callcenter.asterisk_conf import ConfFile

_PRIORITY = re.compile(r"^(\d+|n|hint)(?:\((\w+)\))?$")
_GLOBAL_REF = re.compile(r"\$\{(\w+)\}")
NON_CONTEXTS = frozenset({"general", "globals"})
_PATTERN_CHARS = {"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]", ".": ".+", "!": ".*"}


@dataclass(frozen=True)
class Step:
    """One priority of an extension."""

    context: str
    exten: str
    priority: int
    label: str | None
    app: str
    data: str
    file: str
    line: int


@dataclass
class Context:
    """A dialplan context: its steps in file order and the contexts it includes."""

    name: str
    file: str
    line: int
    steps: list[Step] = field(default_factory=list)
    includes: list[str] = field(default_factory=list)

    def extensions(self) -> dict[str, list[Step]]:
        """Steps grouped by extension (pattern), in priority order."""
        out: dict[str, list[Step]] = {}
        for step in self.steps:
            out.setdefault(step.exten, []).append(step)
        for steps in out.values():
            steps.sort(key=lambda s: s.priority)
        return out


@dataclass
class Dialplan:
    """Every context of extensions.conf and its ``[globals]``."""

    contexts: dict[str, Context]
    globals: dict[str, str]

    def expand(self, text: str) -> str:
        """``text`` with ``${NAME}`` of ``[globals]`` replaced (others left as they are)."""
        return _GLOBAL_REF.sub(lambda m: self.globals.get(m.group(1), m.group(0)), text)

    def all_steps(self) -> list[Step]:
        """Every step of every context."""
        return [s for c in self.contexts.values() for s in c.steps]


def exten_matches(pattern: str, exten: str) -> bool:
    """True when ``exten`` matches the extension ``pattern`` (``_`` patterns: X Z N [..] . !)."""
    if not pattern.startswith("_"):
        return pattern == exten
    parts, i, body = [], 0, pattern[1:]
    while i < len(body):
        ch = body[i]
        if ch == "[" and "]" in body[i:]:
            end = body.index("]", i)
            parts.append("[" + body[i + 1:end] + "]")
            i = end + 1
            continue
        parts.append(_PATTERN_CHARS.get(ch.upper(), re.escape(ch)))
        i += 1
    return re.fullmatch("".join(parts), exten) is not None


def split_app(text: str) -> tuple[str, str]:
    """``App(data)`` → (``App``, ``data``); an application without parentheses has no data."""
    name, paren, rest = text.partition("(")
    if not paren:
        return name.strip(), ""
    return name.strip(), rest[: rest.rfind(")")] if ")" in rest else rest


def split_args(data: str) -> list[str]:
    """Application arguments split at commas outside parentheses, brackets and braces."""
    args: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in data:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            args.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    args.append("".join(cur))
    return [a.strip() for a in args]


def build_dialplan(conf: ConfFile) -> Dialplan:
    """The contexts and globals of a parsed extensions.conf."""
    contexts: dict[str, Context] = {}
    globals_: dict[str, str] = {}
    for section in conf.sections:
        if section.name == "globals":
            globals_.update({s.name: s.value for s in section.settings})
            continue
        if section.name in NON_CONTEXTS:
            continue
        ctx = contexts.setdefault(section.name, Context(section.name, section.file, section.line))
        exten, last = "", 0
        for setting in section.settings:
            if setting.key == "include":
                ctx.includes.append(setting.value.split(",")[0].strip())
                continue
            if setting.key == "exten":
                exten, _, rest = setting.value.partition(",")
                exten = exten.strip()
            elif setting.key == "same" and exten:
                rest = setting.value
            else:
                continue
            prio_text, _, app_text = rest.partition(",")
            m = _PRIORITY.match(prio_text.strip())
            if m is None or m.group(1) == "hint":
                continue
            last = last + 1 if m.group(1) == "n" else int(m.group(1))
            app, data = split_app(app_text.strip())
            ctx.steps.append(Step(ctx.name, exten, last, m.group(2), app, data,
                                  setting.file, setting.line))
    return Dialplan(contexts, globals_)
