"""`infermeter proxy` in front of a real upstream on loopback (the null OpenAI-compatible server)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

from infermeter.servers.cache_proxy import READY
from infermeter.servers.null import null_server

pytestmark = pytest.mark.integration

KEY = "sk-test-secret-4f1a"


class Proxy:
    def __init__(self, upstream: str, cache: str = "lru:64,1MB") -> None:
        cmd = [sys.executable, "-m", "infermeter", "proxy", "--upstream", upstream, "--port", "0", "--cache", cache]
        self.proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
        self.log: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if line.startswith(READY):
                self.url = line[len(READY) :].split(" ")[0]
                threading.Thread(target=self._drain, daemon=True).start()
                return
            if not line:
                break
        self.stop()
        raise RuntimeError("proxy did not start")

    def _drain(self) -> None:
        for line in self.proc.stderr:
            self.log.append(line)

    def stop(self) -> None:
        self.proc.terminate()
        try:  # a graceful stop takes seconds on a busy machine: wait for it, then make sure
            self.proc.wait(120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _post(url: str, body: dict, key: str = KEY) -> tuple[int, dict, bytes]:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.loads(r.read())


CHAT = {"model": "null-model", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 8, "temperature": 0}


def test_proxy_serves_hits_without_the_upstream_and_never_caches_sampling(tmp_path):
    with null_server("--tokens", "8", "--pace-ms", "2") as upstream:
        proxy = Proxy(upstream.url)
        try:
            chat = f"{proxy.url}/v1/chat/completions"
            s1, h1, b1 = _post(chat, CHAT)
            s2, h2, b2 = _post(chat, CHAT)
            assert (s1, s2) == (200, 200) and h1["X-Infermeter-Cache"] == "miss" and h2["X-Infermeter-Cache"] == "hit"
            assert b1 == b2 and json.loads(b2)["choices"][0]
            stream = {**CHAT, "stream": True}
            _, h3, b3 = _post(chat, stream)
            _, h4, b4 = _post(chat, stream)
            assert h3["X-Infermeter-Cache"] == "miss" and h4["X-Infermeter-Cache"] == "hit"
            assert b3 == b4 and b4.count(b"data: ") >= 9 and b4.rstrip().endswith(b"data: [DONE]")
            assert h4["Content-Type"].startswith("text/event-stream")
            comp = f"{proxy.url}/v1/completions"
            assert _post(comp, {"model": "null-model", "prompt": "hi", "max_tokens": 4, "temperature": 0})[0] == 200
            # Sampling without a seed: forwarded every time, never served from the cache.
            sampled = {**CHAT, "temperature": 0.8}
            assert {_post(chat, sampled)[1]["X-Infermeter-Cache"] for _ in range(3)} == {"miss"}
            # A different key cannot read what another key's request filled.
            assert _post(chat, CHAT, key="sk-other")[1]["X-Infermeter-Cache"] == "miss"
            assert _get(f"{proxy.url}/v1/models")["data"][0]["id"] == "null-model"
            stats = _get(f"{proxy.url}/stats")
            assert stats["forwarded"] == 7 and stats["cache"]["hits"] == 2
            assert stats["cache"]["uncacheable"] == 3 and stats["cache"]["bytes"] > 0
            # The upstream is gone: hits are still served (they never contact it), misses are a clean 502.
            upstream.kill()
            s5, h5, b5 = _post(chat, stream)
            assert s5 == 200 and h5["X-Infermeter-Cache"] == "hit" and b5 == b3
            assert _post(chat, {**CHAT, "max_tokens": 3})[0] == 502
            with urllib.request.urlopen(f"{proxy.url}/metrics", timeout=10) as r:
                metrics = r.read().decode()
            assert "infermeter_proxy_cache_hits_total 3" in metrics and "infermeter_proxy_cache_bytes" in metrics
        finally:
            proxy.stop()
    log = "".join(proxy.log)
    assert "POST /v1/chat/completions 200 hit" in log
    assert KEY not in log and "sk-other" not in log  # the API key is never logged


def test_proxy_rejects_a_bad_cache_spec(tmp_path):
    from .conftest import run_cli

    proc = run_cli("proxy", "--upstream", "http://127.0.0.1:9", "--cache", "lru:lots", tmp=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "lru:lots" in proc.stderr
