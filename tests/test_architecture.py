"""The house rules that a test can check: model/ stays free of Qt and of app/."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_model_never_imports_qt_or_app():
    offenders = {
        str(p.relative_to(ROOT)): sorted(imported_modules(p) & {"PySide6", "PyQt5", "PyQt6", "shiboken6", "app"})
        for p in (ROOT / "model").rglob("*.py")
    }
    offenders = {k: v for k, v in offenders.items() if v}
    assert not offenders, f"model/ must stay Qt-free and independent of app/: {offenders}"


def test_nothing_loads_weights_from_a_hub_by_name():
    import re

    pattern = re.compile(r"from_pretrained\(\s*[\"'][A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+[\"']")
    hits = [str(p.relative_to(ROOT)) for d in ("model", "app") for p in (ROOT / d).rglob("*.py") if pattern.search(p.read_text(encoding="utf-8"))]
    assert not hits, f"hub ids in code (no internet at run time; load local folders): {hits}"
