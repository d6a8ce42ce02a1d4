"""Every feature package has one shape (docs/layers.md, "The shape of a feature package"):
routes in ``<feature>/web.py`` with ``setup(app)``, the one module the app shell knows;
templates in a folder of their own. Read with ``ast`` and the file system (nothing of the
features is imported)."""

from __future__ import annotations

import ast
from pathlib import Path

from callcenter.web.app import CORE_FEATURES, FEATURES

PACKAGE = Path(__file__).resolve().parents[1] / "callcenter"
TEMPLATES = PACKAGE / "web" / "templates"
SHELL = "callcenter.web."
SHELL_TEMPLATES = {"_call_time.html", "account.html", "audit.html", "base.html", "error.html",
                   "home.html", "login.html", "users.html"}


def feature_packages() -> list[str]:
    return [m.split(".")[1] for m in FEATURES if not m.startswith(SHELL)]


def test_the_app_knows_each_feature_by_its_web_module() -> None:
    assert all(m.startswith(SHELL) or (m.count(".") == 2 and m.endswith(".web"))
               for m in (*CORE_FEATURES, *FEATURES)), FEATURES
    assert len(set(feature_packages())) == len(feature_packages())


def test_only_web_py_has_a_setup_in_a_feature_package() -> None:
    found = []
    for package in feature_packages():
        for path in sorted((PACKAGE / package).rglob("*.py")):
            tree = ast.parse(path.read_text("utf-8"))
            if any(isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                   and node.name == "setup" for node in tree.body):
                found.append(str(path.relative_to(PACKAGE)))
    assert found == [f"{p}/web.py" for p in feature_packages()]


def test_feature_templates_are_in_folders() -> None:
    assert {p.name for p in TEMPLATES.glob("*.html")} == SHELL_TEMPLATES
