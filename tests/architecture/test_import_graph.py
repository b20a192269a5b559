"""The real import graph obeys ARCHITECTURE.md's "may import" table, so the
document cannot drift from the code: every module is parsed (function-level
imports included), and the packages form no cycle."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "ARCHITECTURE.md"


def table() -> dict[str, set[str]]:
    """package -> packages it may import, from the table's rows."""
    rows: dict[str, set[str]] = {}
    for line in DOC.read_text().splitlines():
        m = re.match(r"^\|\s*`(\w+)/`\s*\|[^|]*\|([^|]*)\|\s*$", line)
        if m:
            cell = m.group(2)
            rows[m.group(1)] = {"everything"} if "everything" in cell else \
                {t.split(".")[0].rstrip("/") for t in re.findall(r"`([\w./]+)`", cell)}
    return rows


def packages() -> list[str]:
    return sorted(p.parent.name for p in ROOT.glob("*/__init__.py"))


def imports(path: Path, package: str, root: Path = ROOT) -> set[tuple[str, int]]:
    """(top-level module, line) for every import in the file, at any depth."""
    out = set()
    parts = path.relative_to(root).with_suffix("").parts
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {(a.name.split(".")[0], node.lineno) for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = parts[:len(parts) - node.level]   # a relative import stays inside
                out.add((base[0] if base else package, node.lineno))
            elif node.module:
                out.add((node.module.split(".")[0], node.lineno))
    return out


def graph() -> dict[str, dict[str, list[str]]]:
    """package -> imported package -> ["file:line", ...]"""
    ours = set(packages())
    g: dict[str, dict[str, list[str]]] = {p: {} for p in ours}
    for pkg in ours:
        for f in sorted((ROOT / pkg).rglob("*.py")):
            for top, line in imports(f, pkg):
                if top in ours and top != pkg:
                    g[pkg].setdefault(top, []).append(f"{f.relative_to(ROOT)}:{line}")
    return g


def test_every_package_has_a_row_and_every_row_a_package():
    assert set(table()) == set(packages())


def test_imports_follow_the_table():
    allowed = table()
    bad = [f"{where} imports {dep} ({pkg}/ may import: "
           f"{', '.join(sorted(allowed[pkg])) or 'nothing'})"
           for pkg, deps in graph().items() if "everything" not in allowed[pkg]
           for dep, wheres in deps.items() if dep not in allowed[pkg] for where in wheres]
    assert not bad, "\n".join(bad)


def test_no_package_level_cycle():
    g = {p: set(d) for p, d in graph().items()}
    state: dict[str, int] = {}

    def visit(p: str, path: list[str]) -> None:
        state[p] = 1
        for q in g[p]:
            assert state.get(q) != 1, "import cycle: " + " -> ".join(path + [p, q])
            if q not in state:
                visit(q, path + [p])
        state[p] = 2
    for p in g:
        if p not in state:
            visit(p, [])


def test_the_parser_sees_function_level_and_relative_imports(tmp_path):
    (tmp_path / "pkg").mkdir()
    f = tmp_path / "pkg" / "m.py"
    f.write_text("import os\n\n\ndef f():\n    from harness.spec import load_spec\n"
                 "    from . import sibling\n")
    assert imports(f, "pkg", root=tmp_path) == {("os", 1), ("harness", 5), ("pkg", 6)}
