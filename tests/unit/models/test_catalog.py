"""`infermeter presets`: every model name with its size, the default first."""

from __future__ import annotations

from infermeter.config import DEFAULT_MODEL
from infermeter.models.catalog import presets_text
from infermeter.models.presets import PRESETS


def test_presets_lists_the_default_and_every_preset_with_a_size() -> None:
    text = presets_text(80)
    lines = text.splitlines()
    assert lines[1].startswith(DEFAULT_MODEL) and "default" in lines[1] and "135 M" in lines[1]
    for name in PRESETS:
        (row,) = [line for line in lines if line.startswith(name + " ")]
        assert " M  " in row or " B  " in row
    assert max(len(line) for line in lines) <= 80
