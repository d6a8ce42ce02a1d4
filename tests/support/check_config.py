"""The shipped dialplan in check-config tests: a changed copy, a line's number, its steps."""

from __future__ import annotations

from pathlib import Path

from callcenter.ami.protocol import Frame
from callcenter.asterisk_conf import parse_conf
from callcenter.deploy.dialplan import (
    Dialplan,
    Step,
    build_dialplan,
    exten_matches,
)

SHIPPED = Path(__file__).resolve().parents[2] / "dialplan"


def mutate(directory: Path, name: str, old: str, new: str) -> None:
    """Replace ``old`` (which must occur) by ``new`` in ``directory/name``."""
    path = directory / name
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {name}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def line_of(directory: Path, name: str, text: str) -> int:
    """The number of the first line of ``name`` containing ``text``."""
    lines = (directory / name).read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, start=1) if text in line)


def shipped_dialplan() -> Dialplan:
    return build_dialplan(parse_conf(SHIPPED / "extensions.conf"))


def steps_for(dp: Dialplan, event: Frame) -> list[Step]:
    """The shipped dialplan's steps of the extension a Newexten event ran in."""
    ctx = dp.contexts.get(str(event["Context"]))
    for exten, steps in (ctx.extensions().items() if ctx else []):
        if exten_matches(exten, str(event["Extension"])):
            return steps
    return []
