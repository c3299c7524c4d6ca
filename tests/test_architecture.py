"""The house rules that a test can check, read from the source: which folder may import which,
no import cycles, no hub ids.

Every ``import`` counts, also those inside functions: an import deferred to call time is still a
dependency. Imports under ``if TYPE_CHECKING:`` are for the type checker only and do not count. Modules are named as installed (``retouch_studio.model.grid.ops``).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "retouch_studio"
FOLDERS = ("app", "model", "resources")


def _modules() -> dict[str, Path]:
    out = {}
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join([PACKAGE, *parts])] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """What module ``name`` imports: modules of ours by full name, anything else as written."""
    here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    typing_only = {
        id(child)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING")
        for child in ast.walk(node)
    }
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(here[: len(here) - node.level + 1] + ([base] if base else []))
            # "from package import module" imports that module.
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        for target in targets:
            while target.startswith(PACKAGE + ".") and target not in MODULES:
                target = target.rsplit(".", 1)[0]
            found.add(target)
    found.discard(name)
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _offenders(importer: str, imported: str) -> list[str]:
    return sorted(
        f"{name} -> {target}"
        for name, targets in GRAPH.items()
        if name == importer or name.startswith(importer + ".")
        for target in targets
        if target == imported or target.startswith(imported + ".")
    )


@pytest.mark.parametrize(
    "importer, imported, why",
    [
        ("retouch_studio.model", "retouch_studio.app", "the computation knows nothing of the program"),
        ("retouch_studio.model", "PySide6", "model/ never imports Qt"),
        ("retouch_studio.model", "shiboken6", "model/ never imports Qt"),
        ("retouch_studio.model.imaging", "retouch_studio.model.engines", "reading and writing photos knows no engine"),
        ("retouch_studio.model.grid", "retouch_studio.model.engines", "grid ops know no engine"),
        ("retouch_studio.model.grid", "retouch_studio.model.instructions", "grid ops know no words"),
        ("retouch_studio.model.instructions", "retouch_studio.model.engines", "reading an instruction serves nothing"),
        ("retouch_studio.model.params", "retouch_studio.model.engines", "the parameter renderer knows no engine"),
        ("retouch_studio.model.params", "retouch_studio.model.instructions", "parameters know no words"),
    ],
)
def test_layer_never_imports(importer, imported, why):
    assert _offenders(importer, imported) == [], why


def test_no_import_cycles():
    # Strongly connected components (Tarjan) of the graph of our own modules.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w not in GRAPH:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in GRAPH:
        if v not in index:
            visit(v)
    assert cycles == [], "\n".join(" <-> ".join(c) for c in cycles)


def test_the_import_graph_is_read():
    # The contracts above mean something only if imports are found: absolute, relative, nested.
    assert "retouch_studio.model.engines.router" in GRAPH["retouch_studio.model.engines.retoucher"]
    assert "retouch_studio.model.engines.router" in GRAPH["retouch_studio.app.cli.plan"]  # inside a function
    assert "PySide6.QtCore" in GRAPH["retouch_studio.app.worker"]


def test_nothing_loads_weights_from_a_hub_by_name():
    pattern = re.compile(r"from_pretrained\(\s*[\"'][A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+[\"']")
    hits = [str(p.relative_to(ROOT)) for d in ("model", "app") for p in (ROOT / d).rglob("*.py") if pattern.search(p.read_text(encoding="utf-8"))]
    assert not hits, f"hub ids in code (no internet at run time; load local folders): {hits}"
