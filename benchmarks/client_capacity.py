"""infermeter's HTTP client overhead vs GuideLLM's and ``vllm bench serve``'s, against one null server, in one run.

    python benchmarks/client_capacity.py [--tokens 2000] [--requests 20] [--rate-requests 400] [--procs 1,2]
                                         [--ref GITREF] [--repeats 1]

1. CPU per streamed token: each client runs as a subprocess pinned to one core (the null server on
   another), synchronous, against a server emitting tokens at pace 0. Two runs per client, long
   (``--tokens``) and one-token answers; (CPU_long - CPU_short) / (requests x (tokens - 1)) is the
   per-token cost with start-up and per-request costs cancelled out.
2. Maximum sustainable request rate: ``--rate-requests`` short answers (16 tokens) under the
   ``throughput`` profile (64 in flight); completed requests per second of each tool's own window.
   infermeter runs once per ``--procs`` value (``--client-procs N``); the clients may use every core
   but the server's, so N > 1 only helps on a machine with cores to spare.

``--ref GITREF`` also measures infermeter as it was at that commit (its ``src`` exported by ``git
archive``), interleaved with the current tree, so "before" and "after" share the machine's load and
the ratio between them is the figure to read on a busy machine. ``--repeats N`` repeats every
measurement and reports the median.

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
    url: str,
    out: Path,
    profile: str,
    n: int,
    tokens: int,
    core: int | set[int],
    procs: int = 1,
    src: Path | None = None,
) -> tuple[float, dict]:
    cmd = [PY, "-m", "infermeter", "load", "--base-url", url, "--profile", profile, "--max-requests", str(n),
           "--max-new-tokens", str(tokens), "--prompt-len", "16", "--set", "tokenizer=qwen", "--quiet", "--json",
           "--output", str(out), "--db", "off", "--max-concurrency", "64", "--client-procs", str(procs),
           "--server-metrics", "off"]  # fmt: skip
    # The source under test first; what PYTHONPATH already held (carried dependencies) after it.
    path = os.pathsep.join(p for p in (str(src or ROOT / "src"), os.environ.get("PYTHONPATH", "")) if p)
    cpu, stdout = _timed(cmd, core, env={"PYTHONPATH": path})
    return cpu, json.loads(stdout)["load_run"]["points"][0]


def export_ref(ref: str, dest: Path) -> Path:
    """``src`` as it was at git commit ``ref``, exported into ``dest`` (for a before/after run)."""
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "src"], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return dest / "src"


def _median(xs: list[float]) -> float:
    xs = sorted(xs)
    return (xs[(len(xs) - 1) // 2] + xs[len(xs) // 2]) / 2


def measure_infermeter(url: str, out: Path, args: argparse.Namespace, client_core: int, spare: set[int],
                       src: Path | None) -> dict[str, float]:  # fmt: skip
    """CPU per token (one core, synchronous) and the request rate per ``--procs`` value, of one tree."""
    n, t = args.requests, args.tokens
    long_cpu, _ = infermeter_load(url, out, "synchronous", n, t, client_core, src=src)
    short_cpu, _ = infermeter_load(url, out, "synchronous", n, 1, client_core, src=src)
    row = {"us_per_token": 1e6 * (long_cpu - short_cpu) / (n * (t - 1))}
    for k in (int(x) for x in args.procs.split(",")):
        _, point = infermeter_load(url, out, "throughput", args.rate_requests, 16, spare, k, src=src)
        row[f"rps x{k}"] = point["request_rate"]
    return row


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


# `vllm bench serve` without vLLM's CLI entry point, which loads the CPU kernels first (they need
# AVX-512 on the CPU wheel: a 2-core AVX2 machine dies of SIGILL before the benchmark starts).
_VLLM_MAIN = """import argparse, sys
from vllm.benchmarks.serve import add_cli_args, main
parser = argparse.ArgumentParser(prog="vllm bench serve")
add_cli_args(parser)
main(parser.parse_args(sys.argv[3:]))
"""


def vllm_bench(
    python: Path, url: str, tok_dir: str, out: Path, n: int, cores: int | set[int], tokens: int = 16, conc: int = 64
) -> tuple[float, float | None]:
    """``vllm bench serve``, 16-token prompts, ``conc`` in flight: (CPU seconds, its request_throughput)."""
    cmd = [str(python), "-c", _VLLM_MAIN, "bench", "serve", "--backend", "openai-chat",
           "--base-url", url, "--endpoint", "/v1/chat/completions", "--model", "null-model", "--tokenizer", tok_dir,
           "--dataset-name", "random", "--random-input-len", "16", "--random-output-len", str(tokens),
           "--num-prompts", str(n), "--max-concurrency", str(conc), "--request-rate", "inf", "--ignore-eos",
           "--save-result", "--result-dir", str(out), "--result-filename", "vllm-bench.json",
           "--disable-tqdm"]  # fmt: skip
    cpu, _ = _timed(cmd, cores, env={"HF_HUB_OFFLINE": "1", "VLLM_TARGET_DEVICE": "cpu", "PYTHONPATH": ""})
    return cpu, json.loads((out / "vllm-bench.json").read_text()).get("request_throughput")


def measure_vllm(python: Path, url: str, tok_dir: str, out: Path, args: argparse.Namespace, client_core: int,
                 spare: set[int]) -> dict[str, float | None]:  # fmt: skip
    """``vllm bench serve`` measured like infermeter: CPU per token one request at a time, then the rate."""
    n, t = args.requests, args.tokens
    long_cpu, _ = vllm_bench(python, url, tok_dir, out, n, client_core, t, 1)
    short_cpu, _ = vllm_bench(python, url, tok_dir, out, n, client_core, 1, 1)
    _, rate = vllm_bench(python, url, tok_dir, out, args.rate_requests, spare)
    return {"us_per_token": 1e6 * (long_cpu - short_cpu) / (n * (t - 1)), "rps x1": rate}


def measure_guidellm(exe: Path, url: str, tok_dir: str, out: Path, args: argparse.Namespace,
                     core: int) -> dict[str, float | None]:  # fmt: skip
    """GuideLLM measured like infermeter (its rate test on the client core alone)."""
    n, t = args.requests, args.tokens
    long_cpu, _ = guidellm_run(exe, url, tok_dir, out, "synchronous", n, t, core)
    short_cpu, _ = guidellm_run(exe, url, tok_dir, out, "synchronous", n, 1, core)
    _, rate = guidellm_run(exe, url, tok_dir, out, "throughput", args.rate_requests, 16, core)
    return {"us_per_token": 1e6 * (long_cpu - short_cpu) / (n * (t - 1)), "rps x1": rate}


def _merge(runs: list[dict[str, float | None]]) -> dict[str, float | None]:
    """The median of each figure over repeated runs."""
    keys = {k for r in runs for k in r}
    return {k: (_median([v for r in runs if (v := r.get(k)) is not None]) if any(r.get(k) is not None for r in runs)
                else None) for k in keys}  # fmt: skip


def _fmt(v: float | None, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def report(rows: dict[str, dict[str, float | None]], procs: list[int], ref: str | None) -> None:
    """The table, then the ratios that matter: current vs --ref, vs vllm bench serve, vs GuideLLM."""
    cols = [f"rps x{k}" for k in procs]
    print(f"{'client':<22} {'CPU us/token':>13} " + " ".join(f"{'req/s x' + str(k):>10}" for k in procs))
    for name, r in rows.items():
        print(
            f"{name:<22} {_fmt(r.get('us_per_token'), '.2f'):>13} "
            + " ".join(f"{_fmt(r.get(c), '.1f'):>10}" for c in cols)
        )
    im = rows["infermeter"]

    def ratio(label: str, a: float | None, b: float | None) -> None:
        if a and b:
            print(f"{label}: {a / b:.2f}x")

    for other in (f"infermeter @{ref}", "vllm bench serve", "guidellm"):
        o = rows.get(other) or {}
        ratio(f"CPU per token, {other} / infermeter", o.get("us_per_token"), im.get("us_per_token"))
        ratio(f"request rate (1 process), infermeter / {other}", im.get("rps x1"), o.get("rps x1"))
    us = im.get("us_per_token")
    print(f"target <= 20 us/token: {'met' if us is not None and us <= 20 else 'NOT met'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", type=int, default=2000, help="tokens per long answer (default 2000)")
    ap.add_argument("--requests", type=int, default=20, help="requests per CPU measurement (default 20)")
    ap.add_argument("--rate-requests", type=int, default=400, help="requests in the rate test (default 400)")
    ap.add_argument("--no-guidellm", action="store_true", help="leave GuideLLM out")
    ap.add_argument("--procs", default="1,2", help="infermeter --client-procs values for the rate test (default 1,2)")
    ap.add_argument("--ref", help="also measure infermeter at this git commit (before/after in one run)")
    ap.add_argument("--repeats", type=int, default=1, help="measure everything N times, report medians (default 1)")
    ap.add_argument("--vllm-python", default=str(ROOT / ".venv-vllm" / "bin" / "python"),
                    help="python with vLLM for `vllm bench serve` (skipped when missing)")  # fmt: skip
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from infermeter.models.tokenizer import qwen_tokenizer
    from infermeter.servers.null import NullServerProcess

    cores = sorted(os.sched_getaffinity(0))
    client_core, server_core = cores[0], cores[-1]
    exe = None if args.no_guidellm else ensure_guidellm()
    procs = [int(x) for x in args.procs.split(",")]
    vllm_py = Path(args.vllm_python)
    runs: dict[str, list[dict[str, float | None]]] = {}
    with tempfile.TemporaryDirectory() as tmp, NullServerProcess("--pace-ms", "0", "--tokens", "100000") as srv:
        os.sched_setaffinity(srv.proc.pid, {server_core})
        out = Path(tmp)
        tok_dir = str(out / "tokenizer")
        qwen_tokenizer().save_pretrained(tok_dir)
        ref_src = export_ref(args.ref, out / "ref") if args.ref else None
        spare = set(cores) - {server_core} or {client_core}  # client processes may spread over these
        for _ in range(args.repeats):  # interleaved: every tool sees the same drift in the machine's load
            runs.setdefault("infermeter", []).append(measure_infermeter(srv.url, out, args, client_core, spare, None))
            if ref_src is not None:
                row = measure_infermeter(srv.url, out, args, client_core, spare, ref_src)
                runs.setdefault(f"infermeter @{args.ref}", []).append(row)
            if vllm_py.exists():
                try:
                    row = measure_vllm(vllm_py, srv.url, tok_dir, out, args, client_core, spare)
                    runs.setdefault("vllm bench serve", []).append(row)
                except (RuntimeError, OSError, ValueError) as err:
                    print(f"vllm bench serve could not be measured: {err}", file=sys.stderr)
            if exe is not None:
                try:
                    runs.setdefault("guidellm", []).append(
                        measure_guidellm(exe, srv.url, tok_dir, out, args, client_core)
                    )
                except (RuntimeError, OSError, ValueError) as err:
                    print(f"guidellm could not be measured: {err}", file=sys.stderr)
    load = os.getloadavg()
    print(f"client on core {client_core}, null server on core {server_core}, rate test clients on cores "
          f"{sorted(spare)}; {time.strftime('%Y-%m-%d %H:%M')}, load average {load[0]:.1f} {load[1]:.1f} "
          f"{load[2]:.1f}, {args.repeats} repeat(s), medians")  # fmt: skip
    report({name: _merge(r) for name, r in runs.items()}, procs, args.ref)


if __name__ == "__main__":
    main()
