"""QA monitoring forms: TOML data files in ``qa/forms/``, loaded and validated.

A form has an id and a version, grade bands covering 0–100, and sections of
items. Every problem in a file is reported as ``file:line: problem``; TOML
syntax errors carry tomllib's line, semantic ones the line of the offending key.
A form's :attr:`Form.hash` is the SHA-256 of its canonical JSON definition, so
a review can pin exactly what it was scored on.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

AUTO_KINDS = ("answered_within_rule", "hold_under_limit", "transfer_handled")
_SCALE_RE = re.compile(r"^0\.\.([0-9]+)$")
_ID_RE = re.compile(r"^[A-Za-z0-9_-]+$")
_HEADER_RE = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\"-]+)\s*\]\]?\s*(#.*)?$")

_TOP_KEYS = {"id", "version", "title_zh", "title_en", "bands", "sections"}
_BAND_KEYS = {"id", "min", "max", "label_zh", "label_en"}
_SECTION_KEYS = {"id", "title_zh", "title_en", "items"}
_ITEM_KEYS = {"id", "text_zh", "text_en", "weight", "scale", "na_allowed", "fatal", "auto",
              "hold_limit_s", "pass_min"}


@dataclass(frozen=True)
class FormProblem:
    """One problem in one form file; ``line`` is 1-based, 0 when unknown."""

    path: str
    line: int
    problem: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.problem}"


class FormError(Exception):
    """A form file is not valid; :attr:`problems` lists every problem found."""

    def __init__(self, problems: list[FormProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class Band:
    """A grade band: totals from ``min`` to ``max`` (whole points, inclusive)."""

    id: str
    min: int
    max: int
    label_zh: str
    label_en: str


@dataclass(frozen=True)
class Item:
    """One scored line of the sheet.

    ``max_score`` is 1 for yes/no; an item is *failed* when scored below
    ``pass_min`` (default: full marks).
    """

    id: str
    text_zh: str
    text_en: str
    weight: float
    max_score: int
    yes_no: bool
    na_allowed: bool
    fatal: bool
    auto: str | None
    hold_limit_s: float | None
    pass_min: int

    def text(self, lang: str) -> str:
        """The item's text in ``lang`` (zh | en)."""
        return self.text_zh if lang == "zh" else self.text_en


@dataclass(frozen=True)
class Section:
    id: str
    title_zh: str
    title_en: str
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Form:
    """A validated form; ``definition`` is the plain data it was built from."""

    id: str
    version: int
    title_zh: str
    title_en: str
    bands: tuple[Band, ...]
    sections: tuple[Section, ...]
    definition: Mapping[str, Any]
    hash: str

    @property
    def items(self) -> tuple[Item, ...]:
        """All items in sheet order."""
        return tuple(i for s in self.sections for i in s.items)

    def item(self, item_id: str) -> Item:
        """The item ``item_id``; KeyError when the form has none."""
        for i in self.items:
            if i.id == item_id:
                return i
        raise KeyError(item_id)

    def band_for(self, total: float) -> Band:
        """The grade band of a total (0–100; fractions count down: 59.9 → 59)."""
        points = int(min(100.0, max(0.0, round(total, 6))))
        return next(b for b in self.bands if b.min <= points <= b.max)


def definition_hash(definition: Mapping[str, Any]) -> str:
    """SHA-256 hex of the canonical JSON of a form definition."""
    blob = json.dumps(definition, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- locating lines


class _Locator:
    """Finds the line of a key inside the n-th ``[[table]]`` block of a TOML text."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.blocks: dict[str, list[tuple[int, int]]] = {}
        start, name = 0, ""
        for no, line in enumerate(self.lines):
            m = _HEADER_RE.match(line)
            if m:
                self.blocks.setdefault(name, []).append((start, no))
                start, name = no, m.group(1)
        self.blocks.setdefault(name, []).append((start, len(self.lines)))

    def line(self, table: str, index: int | None, key: str | None) -> int:
        """1-based line of ``key`` in block ``index`` of ``table`` ('' = top level)."""
        blocks = self.blocks.get(table, [])
        if index is None:
            index = 0
        if index >= len(blocks):
            return 0
        start, end = blocks[index]
        if key is not None:
            pattern = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=")
            for no in range(start, end):
                if pattern.match(self.lines[no]):
                    return no + 1
        return start + 1 if table else 1


# ---------------------------------------------------------------- validation


class _Checker:
    """Validates a definition dict, collecting problems with their lines."""

    def __init__(self, path: str, locate: Callable[[str, int | None, str | None], int]) -> None:
        self.path = path
        self.locate = locate
        self.problems: list[FormProblem] = []

    def err(self, table: str, index: int | None, key: str | None, problem: str) -> None:
        self.problems.append(FormProblem(self.path, self.locate(table, index, key), problem))

    def text(self, data: Mapping[str, Any], key: str, table: str, index: int | None,
             where: str) -> str:
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            self.err(table, index, key if key in data else None,
                     f"{where}: '{key}' must be a non-empty string")
            return ""
        return value

    def ident(self, data: Mapping[str, Any], table: str, index: int | None, where: str) -> str:
        value = self.text(data, "id", table, index, where)
        if value and not _ID_RE.match(value):
            self.err(table, index, "id", f"{where}: id {value!r} may use only letters, digits, "
                     "'_' and '-'")
        return value

    def unknown(self, data: Mapping[str, Any], allowed: set[str], table: str,
                index: int | None, where: str) -> None:
        for key in data:
            if key not in allowed:
                self.err(table, index, key, f"{where}: unknown key '{key}' "
                         f"(allowed: {', '.join(sorted(allowed))})")

    def table_list(self, data: Mapping[str, Any], key: str, table: str, index: int | None,
                   where: str) -> list[Mapping[str, Any]]:
        value = data.get(key)
        if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
            self.err(table, index, key if key in data else None,
                     f"{where}: '{key}' must be a non-empty array of tables ([[{key}]])")
            return []
        return value


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_bands(c: _Checker, data: Mapping[str, Any]) -> tuple[Band, ...]:
    bands: list[Band] = []
    for i, b in enumerate(c.table_list(data, "bands", "", None, "form")):
        where = f"band {i + 1}"
        c.unknown(b, _BAND_KEYS, "bands", i, where)
        ok = True
        for key in ("min", "max"):
            v = b.get(key)
            if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 100:
                c.err("bands", i, key if key in b else None,
                      f"{where}: '{key}' must be a whole number from 0 to 100")
                ok = False
        if ok and b["min"] > b["max"]:
            c.err("bands", i, "min", f"{where}: min {b['min']} is above max {b['max']}")
            ok = False
        band = Band(c.ident(b, "bands", i, where), b.get("min", 0), b.get("max", 0),
                    c.text(b, "label_zh", "bands", i, where),
                    c.text(b, "label_en", "bands", i, where))
        if ok:
            bands.append(band)
    if bands and len(bands) == len(data["bands"]):
        expected = 0
        for i, b in enumerate(bands):
            if b.min != expected:
                c.err("bands", i, "min", f"bands must cover 0–100 without gaps or overlaps: "
                      f"band '{b.id}' starts at {b.min}, expected {expected}")
                break
            expected = b.max + 1
        else:
            if expected != 101:
                c.err("bands", len(bands) - 1, "max",
                      f"bands must cover 0–100: the last band ends at {expected - 1}")
    return tuple(bands)


def _check_item(c: _Checker, d: Mapping[str, Any], idx: int, where: str) -> Item | None:
    c.unknown(d, _ITEM_KEYS, "sections.items", idx, where)
    item_id = c.ident(d, "sections.items", idx, where)
    where = f"item '{item_id}'" if item_id else where
    ok = bool(item_id)
    text_zh = c.text(d, "text_zh", "sections.items", idx, where)
    text_en = c.text(d, "text_en", "sections.items", idx, where)
    weight = d.get("weight")
    if not _number(weight) or weight <= 0:
        c.err("sections.items", idx, "weight" if "weight" in d else None,
              f"{where}: weight must be a number above 0, not {weight!r}")
        ok = False
    scale = d.get("scale")
    m = _SCALE_RE.match(scale) if isinstance(scale, str) else None
    if scale == "yes_no":
        max_score = 1
    elif m and 1 <= int(m.group(1)) <= 100:
        max_score = int(m.group(1))
    else:
        c.err("sections.items", idx, "scale" if "scale" in d else None,
              f"{where}: unknown scale {scale!r} (use \"yes_no\" or \"0..N\", N from 1 to 100)")
        ok, max_score = False, 1
    flags = {}
    for key in ("na_allowed", "fatal"):
        flags[key] = d.get(key, False)
        if not isinstance(flags[key], bool):
            c.err("sections.items", idx, key, f"{where}: '{key}' must be true or false")
            ok = False
    if flags["fatal"] is True and scale != "yes_no":
        c.err("sections.items", idx, "fatal", f"{where}: a fatal item must use scale \"yes_no\"")
        ok = False
    auto = d.get("auto")
    limit = d.get("hold_limit_s")
    if auto is not None and auto not in AUTO_KINDS:
        c.err("sections.items", idx, "auto",
              f"{where}: unknown auto item {auto!r} (known: {', '.join(AUTO_KINDS)})")
        ok = False
    elif auto is not None and flags["na_allowed"] is not True:
        c.err("sections.items", idx, "auto", f"{where}: an auto item must set na_allowed = true "
              "(it does not apply to every call)")
        ok = False
    if auto == "hold_under_limit" and (not _number(limit) or limit <= 0):
        c.err("sections.items", idx, "hold_limit_s" if "hold_limit_s" in d else "auto",
              f"{where}: auto hold_under_limit needs hold_limit_s, a number of seconds above 0")
        ok = False
    elif auto != "hold_under_limit" and limit is not None:
        c.err("sections.items", idx, "hold_limit_s",
              f"{where}: hold_limit_s is only for auto = \"hold_under_limit\"")
        ok = False
    pass_min = d.get("pass_min", max_score)
    if not isinstance(pass_min, int) or isinstance(pass_min, bool) \
            or not 1 <= pass_min <= max_score:
        c.err("sections.items", idx, "pass_min",
              f"{where}: pass_min must be a whole number from 1 to {max_score}")
        ok = False
    if not ok:
        return None
    return Item(item_id, text_zh, text_en, float(weight), max_score, scale == "yes_no",
                flags["na_allowed"], flags["fatal"], auto,
                float(limit) if limit is not None else None, pass_min)


def _check(c: _Checker, data: Mapping[str, Any]) -> Form | None:
    c.unknown(data, _TOP_KEYS, "", None, "form")
    form_id = c.ident(data, "", None, "form")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        c.err("", None, "version" if "version" in data else None,
              f"form: 'version' must be a whole number ≥ 1, not {version!r}")
    title_zh = c.text(data, "title_zh", "", None, "form")
    title_en = c.text(data, "title_en", "", None, "form")
    bands = _check_bands(c, data)
    sections: list[Section] = []
    seen_sections: set[str] = set()
    seen_items: set[str] = set()
    item_idx = 0
    for si, s in enumerate(c.table_list(data, "sections", "", None, "form")):
        where = f"section {si + 1}"
        c.unknown(s, _SECTION_KEYS, "sections", si, where)
        sid = c.ident(s, "sections", si, where)
        if sid in seen_sections:
            c.err("sections", si, "id", f"duplicate section id '{sid}'")
        seen_sections.add(sid)
        items = []
        for d in c.table_list(s, "items", "sections", si, f"section '{sid}'"):
            item = _check_item(c, d, item_idx, f"section '{sid}' item {len(items) + 1}")
            raw_id = d.get("id")
            if isinstance(raw_id, str) and raw_id in seen_items:
                c.err("sections.items", item_idx, "id", f"duplicate item id '{raw_id}'")
            elif isinstance(raw_id, str):
                seen_items.add(raw_id)
            if item is not None:
                items.append(item)
            item_idx += 1
        sections.append(Section(sid, c.text(s, "title_zh", "sections", si, where),
                                c.text(s, "title_en", "sections", si, where), tuple(items)))
    if c.problems:
        return None
    plain = json.loads(json.dumps(data))
    return Form(form_id, version, title_zh, title_en, bands, tuple(sections), plain,
                definition_hash(plain))


def parse_form(text: str, path: str = "<form>") -> Form:
    """Parse and validate a form from TOML ``text``; FormError names ``path`` and lines."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise FormError([FormProblem(path, int(m.group(1)) if m else 0,
                                     f"TOML syntax error: {exc}")]) from None
    return form_from_definition(data, path, _Locator(text).line)


def form_from_definition(data: Mapping[str, Any], path: str = "<definition>",
                         locate: Callable[[str, int | None, str | None], int] | None = None
                         ) -> Form:
    """Validate a plain definition (e.g. a stored snapshot) into a :class:`Form`."""
    checker = _Checker(path, locate or (lambda table, index, key: 0))
    form = _check(checker, data)
    if form is None:
        raise FormError(checker.problems)
    return form


def load_form(path: str | Path) -> Form:
    """Load and validate one form file (UTF-8 TOML)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FormError([FormProblem(str(p), 0, "form file not found")]) from None
    except UnicodeDecodeError as exc:
        raise FormError([FormProblem(str(p), 0, f"not UTF-8 text ({exc.reason})")]) from None
    return parse_form(text, str(p))


def load_forms(directory: str | Path) -> dict[tuple[str, int], Form]:
    """Every ``*.toml`` form in ``directory`` by (id, version); all problems raised at once."""
    forms: dict[tuple[str, int], Form] = {}
    problems: list[FormProblem] = []
    for p in sorted(Path(directory).glob("*.toml")):
        try:
            form = load_form(p)
        except FormError as exc:
            problems += exc.problems
            continue
        key = (form.id, form.version)
        if key in forms:
            problems.append(FormProblem(str(p), 1, f"form '{form.id}' version {form.version} "
                                        "is defined in another file too"))
        forms[key] = form
    if problems:
        raise FormError(problems)
    return forms


def latest_forms(directory: str | Path) -> dict[str, Form]:
    """The highest version of each form id in ``directory``."""
    out: dict[str, Form] = {}
    for (form_id, version), form in sorted(load_forms(directory).items()):
        out[form_id] = form
    return out
