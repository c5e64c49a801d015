"""The package's layers: each folder or top-level module imports only those below it, so a
newcomer can read the pipeline from the bottom up and no change can close an import cycle."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "bulkdelete"

# Bottom to top. "(package)" is bulkdelete/__init__.py, the library's front door.
LAYERS = [
    "errors", "wording", "redact", "durable",
    "settings", "config", "logs", "answer", "client", "failed",
    "engine", "reader", "checkpoint", "batcher", "repeats", "sample", "outputs", "report",
    "lifecycle", "verify", "job", "(package)", "certificate", "fake", "cli", "__main__",
]


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "(package)"


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name == "bulkdelete" or name.startswith("bulkdelete.")}


def test_every_import_points_down_the_layers() -> None:
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        own = _layer(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
        assert own in LAYERS, f"{path.name}: {own} has no place in LAYERS"
        for imported in _imports(path):
            target = _layer(imported)
            if target != own and LAYERS.index(target) > LAYERS.index(own):
                upward.append(f"{path.relative_to(PACKAGE.parent)} imports {imported}")
    assert upward == []


def test_no_module_is_over_300_lines() -> None:
    long = {str(p.relative_to(PACKAGE.parent)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 300}
    assert long == {}
