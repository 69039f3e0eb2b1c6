"""`infermeter load` against a hostile server, one test per fault mode.

Every mode must end in bounded time (the subprocess is killed with its group otherwise), with a
clear reason and no traceback, its records kept, and the API key absent from every artifact:
report.json, records.jsonl, the results database and its WAL, the HTML/Markdown/CSV reports, and
the console. Terminal escapes from the server never reach the console.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from .conftest import run_cli
from .fault_server import KEY, MODES, FaultServer

pytestmark = pytest.mark.integration

# mode -> (allowed exit codes, a substring of the failure reason (records) or of stderr (exit 2))
EXPECT: dict[str, tuple[set[int], str | None]] = {
    "ok": ({0}, None),
    "echo-auth-401": ({4}, "HTTP 401"),
    "echo-headers-403": ({4}, "HTTP 403"),
    "key-across-cut": ({4}, "HTTP 500"),
    "key-in-text": ({0, 4}, None),
    "endless-stream": ({4}, "request timeout|response larger"),
    "byte-drip": ({4}, "request timeout"),
    "bad-chunking": ({4}, ""),
    "short-chunk": ({4}, ""),
    "huge-error-body": ({4}, "HTTP 500"),
    "huge-line": ({4}, "response larger|request timeout"),
    "huge-usage": ({0}, None),
    "negative-usage": ({0}, None),
    "string-usage": ({0}, None),
    "html-error": ({4}, "HTML page"),
    "html-200": ({4}, "HTML page"),
    "markup-error": ({4}, "HTTP 500"),
    "escape-error": ({4}, "HTTP 500"),
    "escape-in-text": ({0, 4}, None),
    "non-stream-200": ({4}, "one JSON body"),
    "empty-200": ({4}, "stream ended early"),
    "malformed-event": ({4}, ""),
    "close-mid-stream": ({4}, "stream ended early"),
    "stall": ({4}, "timeout"),
    "no-headers": ({4}, "timeout"),
    "http429": ({4}, "HTTP 429"),
    "http500-plain": ({4}, "HTTP 500: Internal Server Error"),
    "deep-json-error": ({4}, "HTTP 500"),
    "surrogate-error": ({4}, "HTTP 500"),
    "invalid-utf8": ({0, 4}, None),
    "null-delta": ({0, 4}, None),
    "models-echo-401": ({2}, "HTTP 401"),
    "models-html": ({2}, "did not answer JSON"),
    "models-empty": ({2}, "lists no model"),
    "models-list": ({2}, "JSON object"),
    "models-escape": ({2}, "HTTP 500"),
}
ARGS = ("--profile", "synchronous", "--max-requests", "2", "--duration", "30s", "--request-timeout", "3")
FAST = ("--set", "tokenizer=qwen", "--prompt-len", "8", "--max-new-tokens", "8", "--set", "read_timeout_s=2")
LEAKS = [KEY, KEY[:40], KEY[60:100], KEY[-40:]]  # the whole key or any long piece of it


@pytest.fixture(scope="module")
def fault_server():  # noqa: ANN201 - a fixture
    """One fault server for the module (modes are URL prefixes)."""
    srv = FaultServer()
    yield srv
    srv.close()


def test_every_mode_has_an_expectation():
    assert set(EXPECT) == set(MODES) and len(MODES) >= 30


def _artifacts(tmp: Path) -> dict[str, bytes]:
    return {str(p.relative_to(tmp)): p.read_bytes() for p in tmp.rglob("*") if p.is_file()}


def assert_no_key(tmp: Path, console: str) -> None:
    """The key, or a long piece of it, is in no file under ``tmp`` and not on the console."""
    files = _artifacts(tmp)
    # Something to search: records or the database; a run refused before it started (the server's model
    # list failed, and the run is named after the served model) writes nothing, and its error line is the
    # one artifact.
    assert any(name.endswith("records.jsonl") for name in files) or "results.db" in files or console.strip()
    for leak in LEAKS:
        assert leak not in console, "key on the console"
        for name, data in files.items():
            assert leak.encode() not in data, f"key in {name}"


def cli(capfd: pytest.CaptureFixture[str], *args: str) -> subprocess.CompletedProcess:
    """The CLI in this process (a subprocess per mode would cost seconds of imports each)."""
    from infermeter.cli import main

    code = main(list(args))
    out, err = capfd.readouterr()
    return subprocess.CompletedProcess(args, code, out, err)


@pytest.mark.parametrize("mode", sorted(EXPECT))
def test_fault_mode(mode, tmp_path, fault_server, monkeypatch, capfd):
    from infermeter.core import redact

    monkeypatch.setattr(redact, "_registered", set())  # each test registers the key itself
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("INFERMETER_DB", str(tmp_path / "results.db"))
    monkeypatch.chdir(tmp_path)
    codes, reason = EXPECT[mode]
    proc = cli(capfd, "load", "--base-url", fault_server.url(mode), *ARGS, *FAST, "--output", "results", "--quiet")
    console = proc.stdout + proc.stderr
    assert proc.returncode in codes, console[-3000:]
    assert "Traceback" not in console and "\x1b" not in console and "\x07" not in console
    if proc.returncode == 2:  # refused before any request: one line, naming the problem
        lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("infermeter: error:")]
        assert len(lines) == 1 and any(r in lines[0] for r in reason.split("|")), proc.stderr
    else:
        (run_dir,) = (tmp_path / "results").iterdir()
        report = json.loads((run_dir / "report.json").read_text())
        records = [json.loads(line) for line in (run_dir / "records.jsonl").read_text().splitlines()]
        assert len(records) == 2 and report["status"] in ("complete", "partial")
        errors = [r["error"] for r in records if r["error"]]
        if reason is not None:
            assert len(errors) == 2 and all(any(x in e for x in reason.split("|")) for e in errors), errors
            assert all("\x1b" not in e and len(e) <= 200 for e in errors)
        if mode.endswith("-usage"):  # not believed: flagged, the client's count used instead
            assert all("usage_rejected" in r["extra"] for r in records)
            assert all(len(r["token_times"]) <= 4 * TOKENS_MAX for r in records)
        out = tmp_path / "out"
        files = ("--html", f"{out}.html", "--md", f"{out}.md", "--csv", f"{out}.csv")
        rendered = cli(capfd, "report", str(run_dir), *files)
        assert rendered.returncode == 0, rendered.stderr[-2000:]
        console += rendered.stdout + rendered.stderr
    assert_no_key(tmp_path, console)


TOKENS_MAX = 16  # tokens a usage-mode answer really has (the server says millions)


def test_url_password_is_neither_printed_nor_stored(tmp_path, fault_server, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    url = fault_server.url("echo-auth-401").replace("http://", "http://alice:hunter2-secret-pw@")
    proc = run_cli("load", "--base-url", url, *ARGS, *FAST, "--output", "results", tmp=tmp_path, timeout=120)
    assert proc.returncode == 4, proc.stderr[-2000:]
    for p, data in _artifacts(tmp_path).items():
        assert b"hunter2-secret-pw" not in data, p
        assert b"YWxpY2U6aHVudGVyMi1zZWNyZXQtcHc" not in data, p  # base64 of alice:hunter2-secret-pw
    assert "hunter2" not in proc.stdout + proc.stderr
    history = run_cli("history", tmp=tmp_path)
    assert "hunter2" not in history.stdout + history.stderr


def test_a_literal_secret_header_is_refused(tmp_path, fault_server):
    proc = run_cli("load", "--base-url", fault_server.url("ok"), *ARGS, *FAST, "--set",
                   "server.headers={X-Custom-Auth: literal-secret-value}", tmp=tmp_path, timeout=120)  # fmt: skip
    assert proc.returncode == 2 and "X-Custom-Auth" in proc.stderr
    assert "literal-secret-value" not in proc.stderr + proc.stdout
    assert not os.path.exists(tmp_path / "results")


def test_duration_is_a_hard_stop_for_an_endless_stream(tmp_path, fault_server, monkeypatch):
    args = ("--profile", "concurrent:2", "--duration", "2s", "--max-requests", "1000")
    proc = run_cli("load", "--base-url", fault_server.url("endless-stream"), *args, *FAST, "--output", "results",
                   tmp=tmp_path, timeout=120)  # fmt: skip
    assert proc.returncode in (0, 4), proc.stderr[-2000:]
    (run_dir,) = (tmp_path / "results").iterdir()
    records = [json.loads(line) for line in (run_dir / "records.jsonl").read_text().splitlines()]
    assert [r["error"] for r in records] == ["cancelled: duration"] * 2  # both in flight, both cut and kept
    assert all(r["phase"] == "cancelled:load" for r in records)
    assert json.loads((run_dir / "report.json").read_text())["load_run"]["points"][0]["requests"]["cancelled"] == 2
