"""The library as a newcomer meets it: the README's snippet and docs/python.md, run exactly as printed.

Each runs in a fresh interpreter in an empty folder with its own HOME, so the tests also check
that the library writes neither ``./results`` nor ``~/.infermeter/results.db`` unless asked.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _python_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", markdown, flags=re.S | re.M)


def _run(args: list[str], tmp: Path, stdin: str | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
    """A fresh interpreter in ``tmp`` with HOME there; the whole process group dies on timeout."""
    env = {k: v for k, v in os.environ.items() if k != "INFERMETER_DB"}
    env.update(HOME=str(tmp / "home"), PYTHONPATH=str(ROOT / "src"))
    (tmp / "home").mkdir(exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, *args],
        cwd=tmp,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _left_nothing_behind(tmp: Path) -> None:
    assert not (tmp / "results").exists(), "the library wrote ./results without output="
    assert not (tmp / "home" / ".infermeter").exists(), "the library wrote the results database without db="


def test_readme_snippet_runs_as_printed(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### From Python") :]
    (snippet,) = _python_blocks(section)[:1]
    (tmp_path / "snippet.py").write_text(snippet, encoding="utf-8")
    proc = _run(["snippet.py"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    assert "tok/s;" in lines[-2]
    assert "max_new_tokens=8" in lines[-1] and "max_new_tokens=16" in lines[-1]
    _left_nothing_behind(tmp_path)


def test_a_script_without_main_guard_is_told_the_fix(tmp_path: Path) -> None:
    script = 'import infermeter\ninfermeter.run({"model": {"name": "tiny-qwen3"}}, limit=1, max_new_tokens=4)\n'
    (tmp_path / "bench.py").write_text(script, encoding="utf-8")
    proc = _run(["bench.py"], tmp_path, timeout=600)
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("infermeter.errors.InfermeterError: this script starts measurements when it is imported")
    assert 'if __name__ == "__main__":' in last
    assert "died without a result" not in proc.stderr


def test_notebook_walkthrough_runs_cell_by_cell(tmp_path: Path) -> None:
    cells = _python_blocks((ROOT / "docs" / "python.md").read_text(encoding="utf-8"))
    assert len(cells) >= 7
    # Executed like a notebook kernel does: no __main__ file for spawned workers to re-import.
    runner = "import sys; exec(compile(sys.stdin.read(), 'docs/python.md', 'exec'))"
    proc = _run(["-c", runner], tmp_path, stdin="\n".join(cells), timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "decode speed" in out and "tok/s" in out
    assert "time between tokens (TPOT" in out  # the glossary cell
    assert "sdpa E2E" in out and "eager E2E" in out
    assert "max_new_tokens=4" in out and "max_new_tokens=8" in out
    assert "stable:" in out
    assert "12 ok," in out
    assert out.strip().splitlines()[-1].endswith("True")  # db= wrote the database it was given
    _left_nothing_behind(tmp_path)
