"""The layer rules of the design (docs/layers.md), checked on the imports and the
source of ``callcenter/`` as :mod:`ast` reads them (nothing is imported or run).

Each failure names the rule and every import (or statement) that breaks it, as
``module:line -> imported module``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "callcenter"

PURE = ("callcenter.ami", "callcenter.calls")
"""The protocol and the tracker: no I/O, they import nothing of the rest (nor each other)."""
CONSUMERS = ("callcenter.recordings", "callcenter.ringrule", "callcenter.live",
             "callcenter.store.consumer", "callcenter.agentpanel.feed")
"""What the daemon feeds with facts: they depend on the model, never on one another."""
STORE_MAY_IMPORT = ("callcenter.store", "callcenter.calls", "callcenter.db", "callcenter.kpis")
"""The storage layer depends on the model (facts, KPI figures) and the database only."""
SQL_ALLOWED = ("callcenter.store", "callcenter.db", "callcenter.sim")
"""Where SQL may be written: the repositories, the connection and migration runner, and the
PBX simulator (it stands in for Asterisk writing its own CEL table)."""
POOL_OPENERS = frozenset({"create_pool", "open_store"})

SQL = re.compile(r"\b(SELECT\b[\s\S]*\bFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b")
QUERY_CALLS = frozenset({"fetch", "fetchrow", "fetchval", "execute", "executemany",
                         "copy_records_to_table", "copy_to_table", "copy_from_query"})


@dataclass(frozen=True)
class Import:
    module: str
    line: int
    target: str
    type_only: bool  # under ``if TYPE_CHECKING:``

    def __str__(self) -> str:
        return f"{self.module}:{self.line} -> {self.target}"


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    tree: ast.Module


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def owner(name: str, prefixes: tuple[str, ...]) -> str | None:
    """The longest of ``prefixes`` that ``name`` lies within."""
    found = [p for p in prefixes if within(name, p)]
    return max(found, key=len) if found else None


@cache
def modules() -> tuple[Module, ...]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out.append(Module(".".join(parts), path, ast.parse(path.read_text(), str(path))))
    return tuple(out)


@cache
def module_names() -> frozenset[str]:
    return frozenset(m.name for m in modules())


def known(name: str) -> bool:
    return name in module_names()


def _resolve(mod: Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = mod.name.split(".")
    if mod.path.name != "__init__.py":
        base.pop()
    base = base[:len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def _type_only_nodes(tree: ast.Module) -> set[int]:
    return {id(n) for branch in ast.walk(tree) if isinstance(branch, ast.If)
            and "TYPE_CHECKING" in ast.unparse(branch.test)
            for stmt in branch.body for n in ast.walk(stmt)}


@cache
def imports() -> tuple[Import, ...]:
    """Every import of a callcenter module by a callcenter module (function-level ones too);
    ``from a.b import c`` counts as importing ``a.b.c`` when that is a module."""
    out = []
    for mod in modules():
        type_only = _type_only_nodes(mod.tree)
        for node in ast.walk(mod.tree):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(mod, node)
                targets = [f"{base}.{a.name}" if known(f"{base}.{a.name}") else base
                           for a in node.names]
            else:
                continue
            out += [Import(mod.name, node.lineno, t, id(node) in type_only)
                    for t in dict.fromkeys(targets) if within(t, "callcenter")]
    return tuple(sorted(out, key=lambda i: (i.module, i.line, i.target)))


def report(rule: str, broken: list[str]) -> str:
    return f"layer rule broken: {rule}\n" + "\n".join(f"  {b}" for b in broken)


def test_the_protocol_and_the_tracker_import_nothing_of_the_rest() -> None:
    broken = [f"{i}  ({owner(i.module, PURE)} may import only itself)" for i in imports()
              if (home := owner(i.module, PURE)) and not within(i.target, home)]
    assert not broken, report("ami and calls import nothing of the rest", broken)


def test_consumers_do_not_import_each_other() -> None:
    broken = [f"{i}  (consumer {owner(i.module, CONSUMERS)} imports consumer "
              f"{owner(i.target, CONSUMERS)}; share a fact of the model instead)"
              for i in imports()
              if owner(i.module, CONSUMERS) and owner(i.target, CONSUMERS)
              and owner(i.module, CONSUMERS) != owner(i.target, CONSUMERS)]
    assert not broken, report("consumers do not import each other", broken)


def test_the_store_depends_on_the_model_only() -> None:
    broken = [f"{i}  (the store may import only {', '.join(STORE_MAY_IMPORT)})"
              for i in imports() if within(i.module, "callcenter.store")
              and not owner(i.target, STORE_MAY_IMPORT)]
    assert not broken, report("the store depends on the model and the database only",
                              broken)


def _docstrings(tree: ast.Module) -> set[int]:
    return {id(n.body[0].value) for n in ast.walk(tree)
            if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and n.body and isinstance(n.body[0], ast.Expr)
            and isinstance(n.body[0].value, ast.Constant)}


def sql_outside_store() -> Iterator[str]:
    for mod in modules():
        if owner(mod.name, SQL_ALLOWED):
            continue
        docs = _docstrings(mod.tree)
        found = []
        for n in ast.walk(mod.tree):
            if (isinstance(n, ast.Constant) and isinstance(n.value, str)
                    and id(n) not in docs and (m := SQL.search(n.value))):
                found.append((n.lineno, f"SQL text {m.group(0)[:40]!r}"))
            elif (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                  and n.func.attr in QUERY_CALLS):
                found.append((n.lineno, f"query call {ast.unparse(n.func)}(...)"))
        yield from (f"{mod.name}:{line} {what}" for line, what in sorted(found))


def test_sql_lives_only_in_the_store() -> None:
    broken = [f"{b}  (move it to a repository or read model in callcenter/store/)"
              for b in sql_outside_store()]
    assert not broken, report("SQL only in callcenter/store/", broken)


def test_consumers_do_not_open_a_pool_of_their_own() -> None:
    broken = [f"{mod.name}:{n.lineno} calls {ast.unparse(n.func)}(...)  (take the "
              "service's pool)" for mod in modules() if owner(mod.name, CONSUMERS)
              for n in ast.walk(mod.tree) if isinstance(n, ast.Call)
              and isinstance(n.func, ast.Attribute | ast.Name)
              and (n.func.attr if isinstance(n.func, ast.Attribute) else n.func.id)
              in POOL_OPENERS]
    broken += [f"{i}  (take the service's pool)" for i in imports()
               if owner(i.module, CONSUMERS) and within(i.target, "callcenter.store.setup")]
    assert not broken, report("consumers do not open a pool of their own", broken)


def package_of(name: str) -> str:
    """``callcenter.x`` for everything in the package or module ``x``."""
    return ".".join(name.split(".")[:2])


def package_graph() -> dict[str, dict[str, Import]]:
    """package -> imported package -> the first import making that edge; only the imports
    that run (``if TYPE_CHECKING:`` ones only annotate what is handed in)."""
    graph: dict[str, dict[str, Import]] = {}
    for i in imports():
        a, b = package_of(i.module), package_of(i.target)
        if a != b and not i.type_only:
            graph.setdefault(a, {}).setdefault(b, i)
    return graph


def package_cycles(graph: dict[str, dict[str, Import]]) -> list[list[str]]:
    """One shortest cycle through each package that lies on any (packages, in order)."""
    cycles: list[list[str]] = []
    covered: set[str] = set()
    for start in sorted(graph):
        if start in covered:
            continue
        paths = {start: [start]}
        frontier = [start]
        while frontier and start not in covered:
            nxt = []
            for v in frontier:
                for w in sorted(graph.get(v, {})):
                    if w == start:
                        cycles.append(paths[v])
                        covered.update(paths[v])
                        break
                    if w not in paths:
                        paths[w] = [*paths[v], w]
                        nxt.append(w)
                if start in covered:
                    break
            frontier = nxt
    return cycles


def test_no_cycle_between_packages() -> None:
    graph = package_graph()
    broken = []
    for cycle in package_cycles(graph):
        broken.append("cycle " + " -> ".join([*cycle, cycle[0]]) + ", through:")
        broken += [f"  {graph[a][b]}" for a, b in zip(cycle, [*cycle[1:], cycle[0]],
                                                         strict=True)]
    assert not broken, report("no cycle between packages", broken)


def test_the_rules_see_the_imports() -> None:
    """The checks above read real imports (a parser that found none would pass them all)."""
    seen = {str(i) for i in imports()}
    assert any(s.startswith("callcenter.live.consumer:") and s.endswith("calls.model")
               for s in seen)
    assert any(within(i.target, "callcenter.store") for i in imports()
               if within(i.module, "callcenter.recordings"))
