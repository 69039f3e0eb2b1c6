"""infermeter's HTTP client overhead vs GuideLLM's and ``vllm bench serve``'s, against one null server, in one run.

    python benchmarks/client_capacity.py [--tokens 2000] [--requests 20] [--rate-requests 400] [--procs 1,2]

1. CPU per streamed token: each client runs as a subprocess pinned to one core (the null server on
   another), synchronous, against a server emitting tokens at pace 0. Two runs per client, long
   (``--tokens``) and one-token answers; (CPU_long - CPU_short) / (requests x (tokens - 1)) is the
   per-token cost with start-up and per-request costs cancelled out.
2. Maximum sustainable request rate: ``--rate-requests`` short answers (16 tokens) under the
   ``throughput`` profile (64 in flight); completed requests per second of each tool's own window.
   infermeter runs once per ``--procs`` value (``--client-procs N``); the clients may use every core
   but the server's, so N > 1 only helps on a machine with cores to spare.

GuideLLM is installed into ``.venv-guidellm`` (gitignored) on first use; ``vllm bench serve`` runs from
``.venv-vllm`` when it is there (``--vllm-python`` names another). Prints one table and the ratios;
targets: <= 20 us per token for infermeter on one core, a request rate above both other clients with
one process, and higher with two.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GUIDELLM_VENV = ROOT / ".venv-guidellm"
PY = sys.executable


def _pin(core: int):  # noqa: ANN202 - a preexec_fn
    return lambda: os.sched_setaffinity(0, {core})


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _timed(cmd: list[str], core: int | set[int], env: dict[str, str] | None = None) -> tuple[float, str]:
    """(CPU seconds of the command and every descendant it waited for, stdout)."""
    before = _children_cpu()
    cores = {core} if isinstance(core, int) else core
    proc = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=lambda: os.sched_setaffinity(0, cores),
                          env={**os.environ, **(env or {})})  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} {cmd[1]} failed ({proc.returncode}): {proc.stderr[-1500:]}")
    return _children_cpu() - before, proc.stdout


def ensure_guidellm() -> Path:
    exe = GUIDELLM_VENV / "bin" / "guidellm"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(GUIDELLM_VENV)], check=True)
        subprocess.run([str(GUIDELLM_VENV / "bin" / "pip"), "install", "-q", "guidellm"], check=True)
    return exe


def infermeter_load(
    url: str, out: Path, profile: str, n: int, tokens: int, core: int | set[int], procs: int = 1
) -> tuple[float, dict]:
    cmd = [PY, "-m", "infermeter", "load", "--base-url", url, "--profile", profile, "--max-requests", str(n),
           "--max-new-tokens", str(tokens), "--prompt-len", "16", "--set", "tokenizer=qwen", "--quiet", "--json",
           "--output", str(out), "--db", "off", "--max-concurrency", "64", "--client-procs", str(procs),
           "--server-metrics", "off"]  # fmt: skip
    cpu, stdout = _timed(cmd, core)
    return cpu, json.loads(stdout)["load_run"]["points"][0]


def _find(obj: object, key: str) -> list:
    if isinstance(obj, dict):
        return [v for k, v in obj.items() if k == key] + [x for v in obj.values() for x in _find(v, key)]
    if isinstance(obj, list):
        return [x for v in obj for x in _find(v, key)]
    return []


def guidellm_run(exe: Path, url: str, tok_dir: str, out: Path, profile: str, n: int, tokens: int, core: int):  # noqa: ANN201
    path = out / f"guidellm-{profile}-{n}-{tokens}.json"
    prof = "kind=synchronous" if profile == "synchronous" else "kind=concurrent,streams=64"
    cmd = [str(exe), "run", "--backend", f"kind=openai_http,target={url},model=null-model",
           "--profile", prof, "--constraint", f"kind=max_requests,count={n}",
           "--tokenizer", f"kind=hf_auto,model={tok_dir}",
           "--data", f"kind=synthetic_text,prompt_tokens=16,output_tokens={tokens}",
           "--output", f"kind=json,path={path}", "--disable-console"]  # fmt: skip
    cpu, _ = _timed(cmd, core, env={"HF_HUB_OFFLINE": "1"})
    report = json.loads(path.read_text())
    rates = [v for v in _find(report, "requests_per_second") if isinstance(v, dict)]
    rate = None
    for r in rates:
        succ = r.get("successful") or r
        if isinstance(succ, dict) and succ.get("mean") is not None:
            rate = succ["mean"]
            break
    return cpu, rate


def vllm_bench(python: Path, url: str, tok_dir: str, out: Path, n: int, cores: set[int]) -> float | None:
    """``vllm bench serve`` at 64 in flight, 16-token prompts and answers: its request_throughput."""
    cmd = [str(python), "-m", "vllm.entrypoints.cli.main", "bench", "serve", "--backend", "openai-chat",
           "--base-url", url, "--endpoint", "/v1/chat/completions", "--model", "null-model", "--tokenizer", tok_dir,
           "--dataset-name", "random", "--random-input-len", "16", "--random-output-len", "16",
           "--num-prompts", str(n), "--max-concurrency", "64", "--request-rate", "inf", "--ignore-eos",
           "--save-result", "--result-dir", str(out), "--result-filename", "vllm-bench.json",
           "--disable-tqdm"]  # fmt: skip
    _timed(cmd, cores, env={"HF_HUB_OFFLINE": "1", "VLLM_TARGET_DEVICE": "cpu"})
    return json.loads((out / "vllm-bench.json").read_text()).get("request_throughput")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", type=int, default=2000, help="tokens per long answer (default 2000)")
    ap.add_argument("--requests", type=int, default=20, help="requests per CPU measurement (default 20)")
    ap.add_argument("--rate-requests", type=int, default=400, help="requests in the rate test (default 400)")
    ap.add_argument("--no-guidellm", action="store_true", help="leave GuideLLM out")
    ap.add_argument("--procs", default="1,2", help="infermeter --client-procs values for the rate test (default 1,2)")
    ap.add_argument("--vllm-python", default=str(ROOT / ".venv-vllm" / "bin" / "python"),
                    help="python with vLLM for `vllm bench serve` (skipped when missing)")  # fmt: skip
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from infermeter.models.tokenizer import qwen_tokenizer
    from infermeter.servers.null import NullServerProcess

    cores = sorted(os.sched_getaffinity(0))
    client_core, server_core = cores[0], cores[-1]
    exe = None if args.no_guidellm else ensure_guidellm()
    rows: dict[str, dict[str, float | None]] = {"infermeter": {}, "guidellm": {}}
    procs = [int(x) for x in args.procs.split(",")]
    with tempfile.TemporaryDirectory() as tmp, NullServerProcess("--pace-ms", "0", "--tokens", "100000") as srv:
        os.sched_setaffinity(srv.proc.pid, {server_core})
        out = Path(tmp)
        tok_dir = str(out / "tokenizer")
        qwen_tokenizer().save_pretrained(tok_dir)
        n, t = args.requests, args.tokens
        long_cpu, _ = infermeter_load(srv.url, out, "synchronous", n, t, client_core)
        short_cpu, _ = infermeter_load(srv.url, out, "synchronous", n, 1, client_core)
        rows["infermeter"]["us_per_token"] = 1e6 * (long_cpu - short_cpu) / (n * (t - 1))
        spare = set(cores) - {server_core} or {client_core}  # client processes may spread over these
        for k in procs:
            _, point = infermeter_load(srv.url, out, "throughput", args.rate_requests, 16, spare, k)
            rows.setdefault(f"infermeter x{k}" if k > 1 else "infermeter", {})["requests_per_s"] = point["request_rate"]
        if Path(args.vllm_python).exists():
            try:
                rate = vllm_bench(Path(args.vllm_python), srv.url, tok_dir, out, args.rate_requests, spare)
                rows["vllm bench serve"] = {"requests_per_s": rate}
            except (RuntimeError, OSError, ValueError) as err:
                print(f"vllm bench serve could not be measured: {err}", file=sys.stderr)
        if exe is not None:
            try:
                long_cpu, _ = guidellm_run(exe, srv.url, tok_dir, out, "synchronous", n, t, client_core)
                short_cpu, _ = guidellm_run(exe, srv.url, tok_dir, out, "synchronous", n, 1, client_core)
                rows["guidellm"]["us_per_token"] = 1e6 * (long_cpu - short_cpu) / (n * (t - 1))
                _, rate = guidellm_run(exe, srv.url, tok_dir, out, "throughput", args.rate_requests, 16, client_core)
                rows["guidellm"]["requests_per_s"] = rate
            except (RuntimeError, OSError, ValueError) as err:
                print(f"guidellm could not be measured: {err}", file=sys.stderr)
    print(f"client on core {client_core}, null server on core {server_core}; {time.strftime('%Y-%m-%d')}")
    print(f"{'client':<12} {'CPU us/token':>13} {'max req/s':>10}")
    for name, r in rows.items():
        us, rps = r.get("us_per_token"), r.get("requests_per_s")
        print(f"{name:<12} {'-' if us is None else f'{us:.2f}':>13} {'-' if rps is None else f'{rps:.1f}':>10}")
    print(f"rate test: clients on cores {sorted(spare)}")
    im, gl = rows["infermeter"], rows["guidellm"]
    if gl.get("us_per_token") and im.get("us_per_token"):
        print(f"per-token CPU, guidellm / infermeter: {gl['us_per_token'] / im['us_per_token']:.2f}x")
    if gl.get("requests_per_s") and im.get("requests_per_s"):
        print(f"request rate, infermeter / guidellm: {im['requests_per_s'] / gl['requests_per_s']:.2f}x")
    us = im.get("us_per_token")
    print(f"target <= 20 us/token: {'met' if us is not None and us <= 20 else 'NOT met'}")


if __name__ == "__main__":
    main()
