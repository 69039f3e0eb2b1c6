"""The CLI in a real terminal (tmux) at 80 and 200 columns: no line wider than the terminal, no cut interval.

`run`, `compare`, `sweep` and `history` run in an 80-column tmux pane, the narrow case (progress
bars included); `report` shows the same folders again, and `history` the database, in a 200-column
pane. Lines the terminal wrapped are joined back (``capture-pane -J``), so a line that did not fit
shows up at its full length. Skips without tmux, except under CI=true, where `make test` installs it.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TINY = "--model tiny-qwen3 --limit 2 --max-new-tokens 8 --prompt-lens 16 --batch-sizes 1,2 --repeats 2"
TINY += " --set measure.max_repeats=2 --set probe_prompt_len=16 --set probe_output_len=6"
SMALL = "--model tiny-qwen3 --limit 2 --prompt-lens '' --batch-sizes ''"


class Pane:
    """One tmux server (own socket) with one pane of a fixed size; commands run in a login-free bash."""

    def __init__(self, tmp: Path, width: int) -> None:
        self.sock, self.width = f"infermeter-test-{os.getpid()}-{width}", width
        conf = tmp / f"tmux-{width}.conf"
        conf.write_text("set -g history-limit 100000\nset -g remain-on-exit on\n", encoding="utf-8")
        env = {"PYTHONPATH": str(ROOT / "src"), "INFERMETER_DB": str(tmp / "results.db"), "TERM": "xterm-256color"}
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        self.prefix = f"cd {shlex.quote(str(tmp))} && export {exports} && unset COLUMNS LINES; "
        self._tmux("-f", str(conf), "new-session", "-d", "-x", str(width), "-y", "50", "bash --norc --noprofile")
        self.n = 0

    def _tmux(self, *args: str) -> str:
        out = subprocess.run(["tmux", "-L", self.sock, *args], capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        return out.stdout

    def run(self, command: str, timeout: float = 900) -> str:
        """Type ``command`` into the pane, wait for it, return its output as the terminal shows it."""
        self.n += 1
        start, done = f"__START_{self.n}__", f"__RC_{self.n}="
        self._tmux("clear-history")
        channel = f"done-{self.n}"
        # The shell signals a tmux channel when the command has ended; the test blocks on that event.
        line = f"clear; {self.prefix}echo {start}; {command}; echo {done}$?; tmux -L {self.sock} wait-for -S {channel}"
        self._tmux("send-keys", "-l", line)
        self._tmux("send-keys", "Enter")
        try:
            subprocess.run(["tmux", "-L", self.sock, "wait-for", channel], check=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"timed out: {command}") from None
        text = self._tmux("capture-pane", "-p", "-J", "-S", "-")
        m = re.search(rf"^{re.escape(done)}(\d+)\s*$", text, flags=re.M)
        assert m, text[-3000:]
        body = text[text.rindex(start + "\n") + len(start) + 1 : m.start()]
        assert m.group(1) == "0", body[-3000:]
        return body

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.sock, "kill-server"], capture_output=True, timeout=30)


def _check(text: str, width: int, what: str) -> None:
    lines = text.rstrip("\n").splitlines()
    assert lines, what
    too_long = [line for line in lines if len(line.rstrip()) > width]
    assert not too_long, f"{what} at {width} columns: {too_long[:3]}"
    assert "…" not in text, f"{what} at {width} columns: a cell was cut"
    cut = [line for line in lines if line.count("[") != line.count("]")]
    assert not cut, f"{what} at {width} columns: an interval split over lines: {cut[:3]}"


@pytest.fixture
def tmux() -> None:
    if shutil.which("tmux") is None:
        if os.environ.get("CI"):
            pytest.fail("tmux is missing under CI: `make test` should have installed it")
        pytest.skip("needs tmux: apt-get install tmux")


def _folder(db: Path, kind: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", f"import sqlite3; print(sqlite3.connect({str(db)!r}).execute("
         f"\"SELECT report_path FROM runs WHERE kind = '{kind}' ORDER BY created_utc DESC\").fetchone()[0])"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return str(Path(out.stdout.strip()).parent)


def test_cli_views_fit_80_and_200_columns(tmp_path: Path, tmux: None) -> None:
    py = shlex.quote(sys.executable) + " -m infermeter"
    narrow = Pane(tmp_path, 80)
    try:
        out = narrow.run(f"{py} run {TINY} --output results")
        _check(out, 80, "run")
        assert "time between tokens (TPOT)" in out and "infermeter explain" in out
        out = narrow.run(
            f"{py} compare --model tiny-qwen3 --prompt-len 16 --max-new-tokens 8 --output results --rounds 2 "
            "--max-rounds 2 --calls 2 "
            "--variant sdpa:attn_implementation=sdpa --variant eager:attn_implementation=eager"
        )
        _check(out, 80, "compare")
        assert "eager / sdpa = " in out and "lower is better" in out
        out = narrow.run(f"{py} sweep {SMALL} --output results --set max_new_tokens=4,8")
        _check(out, 80, "sweep")
        out = narrow.run(f"{py} history")
        _check(out, 80, "history")
        assert "  p01 " in out  # sweep points listed under their sweep
    finally:
        narrow.close()
    wide = Pane(tmp_path, 200)
    try:
        for kind in ("run", "compare", "sweep"):
            folder = _folder(tmp_path / "results.db", kind)
            _check(wide.run(f"{py} report {shlex.quote(folder)}"), 200, f"report of a {kind}")
        out = wide.run(f"{py} history")
        _check(out, 200, "history")
        assert "decode tok/s" in out  # a table with metric columns, not stacked
    finally:
        wide.close()
