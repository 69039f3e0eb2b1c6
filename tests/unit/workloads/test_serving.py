"""The serving workloads: a shared few-shot system prompt, and list requests of seeded lengths."""

from __future__ import annotations

from infermeter.config import WorkloadConfig
from infermeter.workloads.base import load_items
from infermeter.workloads.serving import CHARS_PER_TOKEN, few_shot_prefix


def test_shared_prefix_items_share_one_system_prompt():
    items = load_items(WorkloadConfig(kind="shared-prefix", limit=5, prompt_len=1000))
    assert len(items) == 5
    assert len({it.system for it in items}) == 1  # one prefix for all: what prefix caching reuses
    prefix = items[0].system
    assert len(prefix) >= 1000 * CHARS_PER_TOKEN and prefix.startswith("You are a careful math tutor")
    assert "####" in prefix  # worked solutions with their final answers
    gsm = load_items(WorkloadConfig(kind="gsm8k", limit=5))
    assert [it.prompt for it in items] == [it.prompt for it in gsm]  # the questions, scored as GSM8K
    assert [it.reference for it in items] == [it.reference for it in gsm]
    assert all(it.prompt not in prefix for it in items)  # shots come from the other end of the set
    assert items[0].messages()[0] == {"role": "system", "content": prefix}


def test_shared_prefix_length_follows_prompt_len():
    assert len(few_shot_prefix(200)) < len(few_shot_prefix(2000))
    assert few_shot_prefix(500) == few_shot_prefix(500)  # deterministic


def test_many_requests_vary_in_asked_length_and_are_deterministic():
    a = load_items(WorkloadConfig(kind="many-requests", limit=32))
    b = load_items(WorkloadConfig(kind="many-requests", limit=32))
    assert [i.prompt for i in a] == [i.prompt for i in b]
    counts = [int(i.prompt.split()[1]) for i in a]
    assert min(counts) >= 2 and max(counts) <= 40 and max(counts) - min(counts) >= 20
    assert len({i.id for i in a}) == 32 and all(i.reference is None for i in a)
