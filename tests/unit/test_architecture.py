"""The architecture as tests: no hidden (function-local) internal imports; the layers contract holds."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "infermeter"
ROOT = SRC.parents[1]

# The package root re-exports the library API lazily so that `import infermeter` (which every worker
# process does) stays light; that is the one function-local internal import allowed.
ALLOWED = {SRC / "__init__.py"}


def _local_internal_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for fn in ast.walk(tree):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(fn):
            if isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            elif isinstance(node, ast.ImportFrom):  # relative imports are internal by definition
                names = ["infermeter"]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            found += [f"{path.relative_to(SRC)}:{node.lineno} {n}" for n in names if n.split(".")[0] == "infermeter"]
    return found


def test_no_function_local_imports_of_internal_modules() -> None:
    # A function-local import of our own module hides a dependency (often a cycle) from readers and
    # from the layers contract. Heavy third-party engines (torch, transformers, vllm, ray) may be
    # imported on use; our modules may not.
    found = [hit for p in sorted(SRC.rglob("*.py")) if p not in ALLOWED for hit in _local_internal_imports(p)]
    assert found == [], "function-local internal imports:\n" + "\n".join(found)


def test_the_local_import_check_finds_one() -> None:
    sample = "def f():\n    from infermeter.api import run\n    import json\n"
    path = SRC / "__sample_for_test__.py"
    try:
        path.write_text(sample, encoding="utf-8")
        assert _local_internal_imports(path) == ["__sample_for_test__.py:2 infermeter.api"]
    finally:
        path.unlink()


def test_layers_contract_is_kept() -> None:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("import-linter is not installed (pip install -e '.[dev]')")
    out = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "KEPT" in out.stdout
