"""Context-load curve: TTFT grouped by prompt length, and prefill tokens/s."""

from __future__ import annotations

import pytest

from infermeter.metrics.context import context_curve


def test_groups_by_prompt_length_sorted(simulate):
    recs = [
        simulate(prefill=0.5, steps=[0.125], prompt_tokens=512, phase="context"),
        simulate(prefill=0.125, steps=[0.125], prompt_tokens=128, phase="context"),
        simulate(prefill=0.375, steps=[0.125], prompt_tokens=128, phase="context"),
        simulate(prefill=0.5, steps=[0.125], prompt_tokens=512, phase="context"),
        # failed at 512: must not pull the mean down
        simulate(prefill=0.0625, prompt_tokens=512, phase="context", error="OOM"),
        # every request at 2048 failed: no point at all
        simulate(prefill=None, prompt_tokens=2048, phase="context", error="OOM"),
    ]
    curve = context_curve(recs)
    pts = curve["points"]
    assert [p["prompt_tokens"] for p in pts] == [128, 512]
    p128, p512 = pts
    # 128 tokens: TTFT 0.125 and 0.375 -> mean 0.25; prefill 128 / 0.25 = 512 tokens/s
    assert p128["ttft"]["n"] == 2
    assert p128["ttft"]["mean"] == pytest.approx(0.25)
    assert p128["ttft"]["min"] == pytest.approx(0.125)
    assert p128["ttft"]["max"] == pytest.approx(0.375)
    assert p128["prefill_tokens_per_s"] == pytest.approx(512.0)
    # 512 tokens: TTFT 0.5 twice (failed one excluded) -> 512 / 0.5 = 1024 tokens/s
    assert p512["ttft"]["n"] == 2
    assert p512["ttft"]["mean"] == pytest.approx(0.5)
    assert p512["ttft"]["unstable"] is False
    assert p512["prefill_tokens_per_s"] == pytest.approx(1024.0)


def test_zero_ttft_gives_no_prefill_speed(simulate):
    pts = context_curve([simulate(prefill=0.0, prompt_tokens=64)])["points"]
    assert pts[0]["ttft"]["mean"] == 0.0
    assert pts[0]["prefill_tokens_per_s"] is None


def test_nothing_measured_gives_none(simulate):
    assert context_curve([]) is None
    assert context_curve([simulate(prefill=None, error="OOM")]) is None
