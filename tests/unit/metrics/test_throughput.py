"""Throughput metrics: aggregate decode TPS, per-stream speed, output throughput."""

from __future__ import annotations

import pytest

from infermeter.metrics.throughput import (
    batch_decode_tps,
    batch_throughputs,
    by_batch,
    decode_tps,
    output_throughput,
    stream_speed,
)


def test_batch_of_one_decode_tps_equals_stream_speed(simulate_batch):
    batch = simulate_batch(prefill=0.5, step=0.125, lengths=[9], batch_id=0)
    # tokens at 0.5, 0.625, ..., 1.5: 8 tokens after the first in 8 * 0.125 = 1.0 s
    assert decode_tps(batch) == pytest.approx(8.0)  # (9 - 1) / (1.5 - 0.5)
    assert stream_speed(batch) == pytest.approx(8.0)  # same formula for one stream
    # output throughput includes prefill: 9 tokens / (1.5 - 0.0)
    assert output_throughput(batch) == pytest.approx(6.0)


def test_batch_of_four_aggregate_differs_from_per_stream(simulate_batch):
    batch = simulate_batch(prefill=0.5, step=0.125, lengths=[9, 9, 9, 9], batch_id=0)
    # aggregate: sum(n - 1) / (max t_n - min t_1) = 4 * 8 / (1.5 - 0.5) = 32 tokens/s
    assert decode_tps(batch) == pytest.approx(32.0)
    # per stream: sum(n - 1) / sum(t_n - t_1) = 32 / (4 * 1.0) = 8 tokens/s, what one user sees
    assert stream_speed(batch) == pytest.approx(8.0)
    # output throughput: 4 * 9 tokens / (1.5 - 0.0) = 24 tokens/s
    assert output_throughput(batch) == pytest.approx(24.0)


def test_uneven_lengths_in_a_batch(simulate_batch):
    batch = simulate_batch(prefill=0.5, step=0.125, lengths=[9, 5, 3, 2], batch_id=0)
    # after-first tokens: 8 + 4 + 2 + 1 = 15; decode span: 1.5 - 0.5 = 1.0 (longest request)
    assert decode_tps(batch) == pytest.approx(15.0)
    # per stream: 15 / (1.0 + 0.5 + 0.25 + 0.125) = 15 / 1.875 = 8 (each stream ran at 1/step)
    assert stream_speed(batch) == pytest.approx(8.0)
    # output throughput: (9 + 5 + 3 + 2) / (1.5 - 0.0) = 19 / 1.5
    assert output_throughput(batch) == pytest.approx(19 / 1.5)


def test_failed_requests_are_excluded(simulate_batch):
    batch = simulate_batch(prefill=0.5, step=0.125, lengths=[9, 9, 0], batch_id=0)
    batch[1].error = "worker crashed"  # tokens arrived, then it failed: not ok
    # only batch[0] counts: decode 8 / 1.0; stream 8 / 1.0; output 9 / 1.5
    assert decode_tps(batch) == pytest.approx(8.0)
    assert stream_speed(batch) == pytest.approx(8.0)
    assert output_throughput(batch) == pytest.approx(6.0)


def test_undefined_cases_return_none(simulate, simulate_batch):
    assert decode_tps([]) is None
    assert stream_speed([]) is None
    assert output_throughput([]) is None
    singles = simulate_batch(prefill=0.5, step=0.125, lengths=[1, 1], batch_id=0)
    assert decode_tps(singles) is None  # no token after the first: nothing decoded
    assert stream_speed(singles) is None
    assert output_throughput(singles) == pytest.approx(4.0)  # 2 tokens / (0.5 - 0.0)
    # Everything in one chunk: several tokens but zero decode time, no rate can be claimed.
    chunk = [simulate(prefill=0.25, steps=[0, 0], tokens_per_chunk=[3])]
    assert decode_tps(chunk) is None
    assert stream_speed(chunk) is None
    failed = [simulate(prefill=None, error="boom")]
    assert (decode_tps(failed), stream_speed(failed), output_throughput(failed)) == (None, None, None)


def test_per_batch_samples(simulate_batch):
    first = simulate_batch(prefill=0.5, step=0.125, lengths=[9, 9], batch_id=0)  # 0.0 .. 1.5
    second = simulate_batch(prefill=0.5, step=0.25, lengths=[5, 5], batch_id=1)  # 1.5 .. 3.0
    broken = simulate_batch(prefill=0.5, step=0.25, lengths=[0], batch_id=2)  # no token
    recs = second + broken + first  # order of records does not matter, batch_id does
    groups = by_batch(recs)
    assert sorted(groups) == [0, 1, 2]
    assert groups[0] == first and groups[1] == second
    # decode per batch: first 2*8 / 1.0 = 16; second 2*4 / (4*0.25) = 8; broken: none
    assert sorted(batch_decode_tps(recs)) == pytest.approx([8.0, 16.0])
    # output per batch: first 18 / 1.5 = 12; second 10 / (3.0 - 1.5) = 6.667; broken: none
    assert sorted(batch_throughputs(recs)) == pytest.approx([10 / 1.5, 12.0])
    # over the whole window: 28 tokens / (3.0 - 0.0)
    assert output_throughput(recs) == pytest.approx(28 / 3.0)
