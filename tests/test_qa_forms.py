"""QA forms: the shipped form loads; every kind of mistake names file, line and problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from callcenter.qa.forms import FormError, form_from_definition, latest_forms, load_form, load_forms

FORMS = Path(__file__).resolve().parents[1] / "qa" / "forms"
SHIPPED = FORMS / "phone-reception.toml"


def _lines(text: str, needle: str, nth: int = 1) -> int:
    """1-based line of the nth line containing ``needle``."""
    hits = [no for no, line in enumerate(text.splitlines(), 1) if needle in line]
    return hits[nth - 1]


def _bad(tmp_path: Path, text: str) -> tuple[Path, FormError]:
    p = tmp_path / "bad.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(FormError) as exc:
        load_form(p)
    return p, exc.value


def test_shipped_form_loads_with_rules_of_the_mission() -> None:
    form = load_form(SHIPPED)
    assert (form.id, form.version) == ("phone-reception", 1)
    items = {i.id: i for i in form.items}
    assert items["answer_within_three_rings"].auto == "answered_within_rule"
    assert items["hold_time"].auto == "hold_under_limit" and items["hold_time"].hold_limit_s == 60
    assert items["transfer_handled"].auto == "transfer_handled"
    assert items["transfer_handled"].na_allowed
    assert [i.id for i in form.items if i.fatal] == ["no_rude_language"]
    assert "您好，[公司名称]" in items["standard_greeting"].text_zh
    assert "感谢您的来电……再见" in items["polite_close"].text_zh
    assert all(i.text_zh and i.text_en for i in form.items)
    assert items["listen_without_interrupting"].max_score == 4
    assert [(b.min, b.max) for b in form.bands] == [(0, 59), (60, 84), (85, 100)]
    assert len(form.hash) == 64


@pytest.mark.parametrize(
    ("old", "new", "needle", "nth", "problem"),
    [
        ('scale = "0..4"', 'scale = "1..4"', 'scale = "1..4"', 1, "unknown scale '1..4'"),
        ('scale = "yes_no"', 'scale = "yesno"', 'scale = "yesno"', 1, "unknown scale 'yesno'"),
        ("weight = 20", "weight = 0", "weight = 0", 1,
         "item 'accurate_truthful': weight must be a number above 0"),
        ("weight = 15", "weight = -2", "weight = -2", 1, "weight must be a number above 0"),
        ('id = "hold_time"', 'id = "polite_close"', 'id = "polite_close"', 2,
         "duplicate item id 'polite_close'"),
        ("max = 84", "max = 83", "min = 85", 1,
         ("bands must cover 0–100 without gaps or overlaps: band 'exceeds' starts at 85, "
         "expected 84")),
        ("max = 100", "max = 99", "max = 99", 1, "bands must cover 0–100: the last band ends at 99"),
        ('auto = "transfer_handled"', 'auto = "transfer_done"', 'auto = "transfer_done"', 1,
         "unknown auto item 'transfer_done'"),
        ("hold_limit_s = 60", "", 'auto = "hold_under_limit"', 1, "needs hold_limit_s"),
        ("fatal = true\n", "fatal = true\ncolour = 1\n", "colour = 1", 1,
         "unknown key 'colour'"),
        ('text_en = "Stated own name and department"', "", "[[sections.items]]", 3,
         "'text_en' must be a non-empty string"),
        ("version = 1", 'version = "one"', 'version = "one"', 1, "'version' must be a whole number"),
    ],
)
def test_semantic_errors_name_file_line_and_problem(
    tmp_path: Path, old: str, new: str, needle: str, nth: int, problem: str
) -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    assert old in text
    bad_text = text.replace(old, new, 1)
    path, err = _bad(tmp_path, bad_text)
    assert len(err.problems) == 1, str(err)
    p = err.problems[0]
    assert p.path == str(path)
    assert p.line == _lines(bad_text, needle, nth), str(err)
    assert problem in p.problem
    assert str(err).startswith(f"{path}:{p.line}: ")


def test_auto_item_must_allow_na_and_fatal_must_be_yes_no(tmp_path: Path) -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    bad = text.replace('na_allowed = true\nauto = "transfer_handled"', 'auto = "transfer_handled"')
    bad = bad.replace('scale = "yes_no"\nfatal = true', 'scale = "0..3"\nfatal = true')
    _, err = _bad(tmp_path, bad)
    assert [(p.line, p.problem.split(": ", 1)[1]) for p in err.problems] == [
        (_lines(bad, 'auto = "transfer_handled"'),
         "an auto item must set na_allowed = true (it does not apply to every call)"),
        (_lines(bad, "fatal = true", 2), 'a fatal item must use scale "yes_no"'),
    ]


def test_toml_syntax_error_carries_its_line(tmp_path: Path) -> None:
    text = SHIPPED.read_text(encoding="utf-8").replace("weight = 10", "weight = = 10", 1)
    _, err = _bad(tmp_path, text)
    assert err.problems[0].line == _lines(text, "weight = = 10")
    assert "TOML syntax error" in err.problems[0].problem


def test_missing_and_non_utf8_file(tmp_path: Path) -> None:
    with pytest.raises(FormError, match="form file not found"):
        load_form(tmp_path / "nope.toml")
    p = tmp_path / "latin.toml"
    p.write_bytes(b'id = "\xe9"\n')
    with pytest.raises(FormError, match="not UTF-8"):
        load_form(p)


def test_versions_side_by_side_and_duplicates(tmp_path: Path) -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    (tmp_path / "v1.toml").write_text(text, encoding="utf-8")
    v2 = text.replace("version = 1", "version = 2").replace("weight = 20", "weight = 30")
    (tmp_path / "v2.toml").write_text(v2, encoding="utf-8")
    forms = load_forms(tmp_path)
    assert sorted(forms) == [("phone-reception", 1), ("phone-reception", 2)]
    assert forms["phone-reception", 1].hash != forms["phone-reception", 2].hash
    assert latest_forms(tmp_path)["phone-reception"].version == 2
    (tmp_path / "v2-copy.toml").write_text(v2, encoding="utf-8")
    with pytest.raises(FormError, match="version 2 is defined in another file too"):
        load_forms(tmp_path)


def test_definition_round_trip_keeps_hash() -> None:
    form = load_form(SHIPPED)
    again = form_from_definition(form.definition)
    assert again.hash == form.hash and again.items == form.items
