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
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

AutoKind = Literal["answered_within_rule", "hold_under_limit", "transfer_handled"]
AUTO_KINDS: tuple[str, ...] = get_args(AutoKind)
_SCALE_RE = re.compile(r"^(?:yes_no|0\.\.([1-9][0-9]?|100))$")
_ID_RE = re.compile(r"^[A-Za-z0-9_-]+$")
_HEADER_RE = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\"-]+)\s*\]\]?\s*(#.*)?$")


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


_STRICT = ConfigDict(extra="forbid", strict=True, frozen=True)
Text = Annotated[str, StringConstraints(min_length=1, pattern=r"\S")]
Ident = Annotated[str, StringConstraints(min_length=1, pattern=_ID_RE.pattern)]


def _non_empty(tables: tuple[Any, ...]) -> tuple[Any, ...]:
    """An array of tables needs one at least (checked once its tables are valid)."""
    if not tables:
        raise PydanticCustomError("too_short", "no tables")
    return tables


def _rule(problem: str, key: str, *, table: str | None = None,
          index: int | None = None) -> PydanticCustomError:
    """A rule broken across fields: ``problem`` at ``key`` (in another block if ``table``)."""
    return PydanticCustomError("form_rule", "{problem}",
                               {"problem": problem, "key": key, "table": table, "index": index})


class Band(BaseModel):
    """A grade band: totals from ``min`` to ``max`` (whole points, inclusive)."""

    model_config = _STRICT
    id: Ident
    min: Annotated[int, Field(ge=0, le=100)]
    max: Annotated[int, Field(ge=0, le=100)]
    label_zh: Text
    label_en: Text

    @model_validator(mode="after")
    def _ordered(self) -> Band:
        if self.min > self.max:
            raise _rule(f"min {self.min} is above max {self.max}", "min")
        return self


def _max_of(scale: Any) -> int:
    """The top score of a scale text (1 for yes/no or a bad scale)."""
    m = _SCALE_RE.match(scale) if isinstance(scale, str) else None
    return int(m.group(1)) if m and m.group(1) else 1


class Item(BaseModel):
    """One scored line of the sheet.

    ``max_score`` is 1 for yes/no; an item is *failed* when scored below
    ``pass_min`` (default: full marks).
    """

    model_config = _STRICT
    id: Ident
    text_zh: Text
    text_en: Text
    weight: Annotated[float, Field(gt=0)]
    scale: Annotated[str, StringConstraints(pattern=_SCALE_RE.pattern)]
    na_allowed: bool = False
    fatal: bool = False
    auto: AutoKind | None = None
    hold_limit_s: Annotated[float, Field(gt=0)] | None = None
    pass_min: Annotated[int, Field(ge=1)]

    @model_validator(mode="before")
    @classmethod
    def _default_pass_min(cls, data: Any) -> Any:
        if isinstance(data, dict) and "pass_min" not in data:
            return {**data, "pass_min": _max_of(data.get("scale"))}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Item:
        if self.fatal and not self.yes_no:
            raise _rule('a fatal item must use scale "yes_no"', "fatal")
        if self.auto is not None and not self.na_allowed:
            raise _rule("an auto item must set na_allowed = true (it does not apply to every "
                        "call)", "auto")
        if self.auto == "hold_under_limit" and self.hold_limit_s is None:
            raise _rule("auto hold_under_limit needs hold_limit_s, a number of seconds above 0",
                        "auto")
        if self.auto != "hold_under_limit" and self.hold_limit_s is not None:
            raise _rule('hold_limit_s is only for auto = "hold_under_limit"', "hold_limit_s")
        if self.pass_min > self.max_score:
            raise _rule(f"pass_min must be a whole number from 1 to {self.max_score}", "pass_min")
        return self

    @property
    def yes_no(self) -> bool:
        """Scored yes (1) or no (0)."""
        return self.scale == "yes_no"

    @property
    def max_score(self) -> int:
        """Full marks."""
        return _max_of(self.scale)

    def text(self, lang: str) -> str:
        """The item's text in ``lang`` (zh | en)."""
        return self.text_zh if lang == "zh" else self.text_en


class Section(BaseModel):
    model_config = _STRICT
    id: Ident
    title_zh: Text
    title_en: Text
    items: Annotated[tuple[Item, ...], Field(strict=False), AfterValidator(_non_empty)]


class Form(BaseModel):
    """A validated form; ``definition`` is the plain data it was built from, ``hash`` its
    :func:`definition_hash`."""

    model_config = _STRICT
    id: Ident
    version: Annotated[int, Field(ge=1)]
    title_zh: Text
    title_en: Text
    bands: Annotated[tuple[Band, ...], Field(strict=False), AfterValidator(_non_empty)]
    sections: Annotated[tuple[Section, ...], Field(strict=False), AfterValidator(_non_empty)]
    _definition: Mapping[str, Any] = PrivateAttr(default_factory=dict)
    _hash: str = PrivateAttr(default="")

    @field_validator("bands")
    @classmethod
    def _cover(cls, bands: tuple[Band, ...]) -> tuple[Band, ...]:
        expected = 0
        for i, b in enumerate(bands):
            if b.min != expected:
                raise _rule("bands must cover 0–100 without gaps or overlaps: band "
                            f"'{b.id}' starts at {b.min}, expected {expected}", "min",
                            table="bands", index=i)
            expected = b.max + 1
        if expected != 101:
            raise _rule(f"bands must cover 0–100: the last band ends at {expected - 1}", "max",
                        table="bands", index=len(bands) - 1)
        return bands

    @field_validator("sections")
    @classmethod
    def _unique(cls, sections: tuple[Section, ...]) -> tuple[Section, ...]:
        for si, s in enumerate(sections):
            if s.id in {t.id for t in sections[:si]}:
                raise _rule(f"duplicate section id '{s.id}'", "id", table="sections", index=si)
        items = [i.id for s in sections for i in s.items]
        for n, item_id in enumerate(items):
            if item_id in items[:n]:
                raise _rule(f"duplicate item id '{item_id}'", "id", table="sections.items",
                            index=n)
        return sections

    @property
    def definition(self) -> Mapping[str, Any]:
        """The plain (JSON) definition the form was validated from."""
        return self._definition

    @property
    def hash(self) -> str:
        """SHA-256 of the canonical definition: what a review pins."""
        return self._hash

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
        start, end = blocks[index or 0] if (index or 0) < len(blocks) else (-1, -1)
        if start < 0:
            return 0
        if key is not None:
            pattern = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=")
            for no in range(start, end):
                if pattern.match(self.lines[no]):
                    return no + 1
        return start + 1 if table else 1


# ---------------------------------------------------------------- problems


_TABLES: dict[str, type[BaseModel]] = {"": Form, "bands": Band, "sections": Section,
                                       "sections.items": Item}
_FIELD_PROBLEMS = {
    "version": "'version' must be a whole number ≥ 1, not {value!r}",
    "min": "'min' must be a whole number from 0 to 100",
    "max": "'max' must be a whole number from 0 to 100",
    "weight": "weight must be a number above 0, not {value!r}",
    "scale": 'unknown scale {value!r} (use "yes_no" or "0..N", N from 1 to 100)',
    "na_allowed": "'na_allowed' must be true or false",
    "fatal": "'fatal' must be true or false",
    "auto": "unknown auto item {value!r} (known: " + ", ".join(AUTO_KINDS) + ")",
    "hold_limit_s": "hold_limit_s must be a number of seconds above 0",
    "pass_min": "pass_min must be a whole number from 1 to the scale's top score",
    "bands": "'bands' must be a non-empty array of tables ([[bands]])",
    "sections": "'sections' must be a non-empty array of tables ([[sections]])",
    "items": "'items' must be a non-empty array of tables ([[items]])",
}
"""The problem with each field, whatever pydantic found wrong with it ({value}: as given)."""


@dataclass(frozen=True)
class _Place:
    """Where a pydantic error points: the TOML table, its block index, the key, the
    block's name in messages."""

    table: str
    index: int | None
    key: str | None
    where: str


def _at(data: Any, *path: str | int) -> Any:
    """``data[path...]`` or None where the path does not exist."""
    for step in path:
        try:
            data = data[step]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _item_index(data: Mapping[str, Any], si: int, ii: int) -> int:
    """Index of item ``ii`` of section ``si`` among all ``[[sections.items]]`` blocks."""
    before = _at(data, "sections") or []
    return ii + sum(len(s.get("items") or []) for s in before[:si] if isinstance(s, dict))


def _place(data: Mapping[str, Any], loc: tuple[str | int, ...]) -> _Place:
    """The block and key an error's ``loc`` names (lists count as keys of their block)."""
    if len(loc) >= 4 and loc[0] == "sections" and loc[2] == "items" and isinstance(loc[3], int):
        si, ii = int(loc[1]), int(loc[3])
        raw_id = _at(data, "sections", si, "items", ii, "id")
        where = (f"item '{raw_id}'" if isinstance(raw_id, str) and raw_id.strip()
                 else f"section '{_at(data, 'sections', si, 'id')}' item {ii + 1}")
        return _Place("sections.items", _item_index(data, si, ii), _key(loc[4:]), where)
    if len(loc) >= 2 and loc[0] in ("bands", "sections") and isinstance(loc[1], int):
        kind = "band" if loc[0] == "bands" else "section"
        return _Place(str(loc[0]), int(loc[1]), _key(loc[2:]), f"{kind} {int(loc[1]) + 1}")
    return _Place("", None, _key(loc), "form")


def _key(rest: tuple[str | int, ...]) -> str | None:
    """The field a rest of ``loc`` starts with (None: the block itself)."""
    return str(rest[0]) if rest else None


def _problem(data: Mapping[str, Any], error: ErrorDetails) -> tuple[_Place, str]:
    """The place and the message of one pydantic error on a form definition."""
    place = _place(data, error["loc"])
    ctx = error.get("ctx") or {}
    if error["type"] == "form_rule":
        if ctx.get("table") is not None:
            return _Place(ctx["table"], ctx["index"], ctx["key"], ""), str(ctx["problem"])
        return replace(place, key=ctx["key"]), str(ctx["problem"])
    key = place.key or ""
    if not key and error["loc"] and isinstance(error["loc"][-1], int):
        # an entry of an array of tables that is not a table
        return place, _FIELD_PROBLEMS[str(error["loc"][-2])]
    if error["type"] == "extra_forbidden":
        allowed = ", ".join(sorted(_TABLES[place.table].model_fields))
        return place, f"unknown key '{key}' (allowed: {allowed})"
    if key == "id" and error["type"] == "string_pattern_mismatch":
        return place, f"id {error['input']!r} may use only letters, digits, '_' and '-'"
    value = None if error["type"] == "missing" else error["input"]
    return place, _FIELD_PROBLEMS.get(key, "'{key}' must be a non-empty string").format(
        value=value, key=key)


def _problems(exc: ValidationError, data: Mapping[str, Any], path: str,
              locate: Callable[[str, int | None, str | None], int]) -> list[FormProblem]:
    """Every error of ``exc`` as a problem of file ``path`` at its line."""
    out = []
    for error in exc.errors():
        place, problem = _problem(data, error)
        line = locate(place.table, place.index, place.key)
        out.append(FormProblem(path, line, f"{place.where}: {problem}" if place.where
                               else problem))
    return out


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
    try:
        form = Form.model_validate(data)
    except ValidationError as exc:
        raise FormError(_problems(exc, data, path, locate or (lambda table, index, key: 0))
                        ) from None
    form._definition = json.loads(json.dumps(data))
    form._hash = definition_hash(form._definition)
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
