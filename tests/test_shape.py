"""The shape of the library: who may import whom (STYLE: narrow dependencies).

Read from the source, TYPE_CHECKING imports included, so a cycle cannot hide
behind ``if TYPE_CHECKING:``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "teachtasks"
CORE = [p for p in SRC.rglob("*.py")
        if not {"exercises", "viz", "integrations"} & set(p.relative_to(SRC).parts)]


def module_name(path: Path) -> str:
    parts = ["teachtasks", *path.relative_to(SRC).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every teachtasks module ``path`` imports, at run time or for type checking."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, *(node.module or "").split(".")]).strip(".")
            if not target.startswith("teachtasks"):
                continue
            for alias in node.names:  # "from . import lifecycle" names a module
                candidate = f"{target}.{alias.name}"
                found.add(candidate if candidate in MODULES else target)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("teachtasks")}
    return {m for m in found if m in MODULES}


MODULES = {module_name(p): p for p in CORE}
GRAPH = {name: imports(path) for name, path in MODULES.items()}


def test_the_core_has_no_import_cycle_even_for_type_checking() -> None:
    done: set[str] = set()

    def visit(name: str, trail: list[str]) -> None:
        if name in trail:
            cycle = trail[trail.index(name):] + [name]
            pytest.fail("import cycle: " + " -> ".join(cycle))
        if name in done:
            return
        for other in GRAPH[name]:
            if other != name and not other.startswith(name + "."):  # a package's own parts
                visit(other, [*trail, name])
        done.add(name)

    for name in sorted(GRAPH):
        visit(name, [])


@pytest.mark.parametrize(("module", "must_not_import"), [
    ("teachtasks.definition", "teachtasks.stores"),
    ("teachtasks.runner", "teachtasks.stores.memory"),
    ("teachtasks.runner", "teachtasks.stores.sqlite"),
    ("teachtasks.context", "teachtasks.manager"),
    ("teachtasks.lifecycle", "teachtasks.stores"),
])
def test_narrow_dependencies(module: str, must_not_import: str) -> None:
    assert not {m for m in GRAPH[module] if m.startswith(must_not_import)}, GRAPH[module]


def test_the_graph_is_read() -> None:  # the checks above would pass on an empty graph
    assert "teachtasks.lifecycle" in GRAPH["teachtasks.stores.memory"]
    assert "teachtasks.stores.base" in GRAPH["teachtasks.runner"]
    assert "teachtasks.stores.base" in GRAPH["teachtasks.context"]  # under TYPE_CHECKING
