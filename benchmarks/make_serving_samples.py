"""Build the small serving samples shipped in ``src/infermeter/workloads/samples/`` from packaged GSM8K.

* ``sharegpt_gsm8k.json``: 64 ShareGPT conversations. The first 16 chain three questions (three
  human turns, three replies: multi-turn runs take them first); the other 48 are one question and its
  worked answer.
* ``trace_gsm8k.jsonl``: 40 lines in the Mooncake trace layout (timestamp ms, input_length,
  output_length, hash_ids), lengths from the GSM8K question/answer sizes at 4 characters per token,
  arrivals from a seeded Poisson process at 20 requests/s, and a shared first block on every 4th
  line (prefix reuse).

Deterministic: run it again and the files do not change. No network.
    PYTHONPATH=src python benchmarks/make_serving_samples.py
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from infermeter.workloads.gsm8k import gsm8k_path

OUT = Path(__file__).resolve().parents[1] / "src" / "infermeter" / "workloads" / "samples"


def main() -> None:
    rows = [json.loads(line) for line in gsm8k_path().read_text(encoding="utf-8").splitlines() if line.strip()]
    convs = []
    for j in range(16):
        turns = []
        for r in rows[100 + 3 * j : 103 + 3 * j]:
            turns += [{"from": "human", "value": r["question"]}, {"from": "gpt", "value": r["answer"]}]
        convs.append({"id": f"gsm8k-chain-{j}", "conversations": turns})
    for i in range(48):
        r = rows[i]
        convs.append({"id": f"gsm8k-{i}", "conversations": [{"from": "human", "value": r["question"]},
                                                             {"from": "gpt", "value": r["answer"]}]})  # fmt: skip
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "sharegpt_gsm8k.json").write_text(json.dumps(convs, indent=1) + "\n", encoding="utf-8")

    rng, t, lines = random.Random(7), 0.0, []
    for i in range(40):
        r = rows[200 + i]
        n_in, n_out = max(8, len(r["question"]) // 4), max(4, len(r["answer"]) // 4)
        blocks = [9000 + i] if i % 4 else [1]  # every 4th request shares block 1
        lines.append({"timestamp": round(t), "input_length": n_in, "output_length": n_out, "hash_ids": blocks})
        t += rng.expovariate(20.0) * 1000
    (OUT / "trace_gsm8k.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    print(f"wrote {len(convs)} conversations and {len(lines)} trace lines to {OUT}")


if __name__ == "__main__":
    main()
