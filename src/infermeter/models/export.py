"""A HF safetensors folder for engines that cannot read what infermeter can (vLLM needs a folder).

The embedded SmolLM2 GGUF (and any ``.gguf`` file) is converted once by transformers into the
project's cache (``core/cache_dir.py``; the same folder the HF backend loads from): nothing is downloaded.

    python -m infermeter.models.export [smollm2-135m | FILE.gguf | FOLDER]   # prints the folder
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from infermeter.errors import InfermeterError
from infermeter.models.resolve import EMBEDDED, _converted_folder, embedded_gguf


def hf_folder(name: str) -> Path:
    """The HF folder (config.json, safetensors, tokenizer) for ``name``, converting a GGUF on first use."""
    if name == EMBEDDED:
        return _converted_folder(embedded_gguf())
    path = Path(os.path.expanduser(name))
    if name.endswith(".gguf"):
        if not path.is_file():
            raise InfermeterError(f"GGUF file not found: {path}")
        return _converted_folder(path)
    if (path / "config.json").is_file():
        return path
    raise InfermeterError(
        f"{name!r} is not a HF model folder, a .gguf file or {EMBEDDED}: this engine needs one of them "
        "(presets with random weights: save one with save_pretrained first)"
    )


def main(argv: list[str] | None = None) -> int:
    """Print the folder for the model named on the command line (default: the embedded SmolLM2)."""
    args = sys.argv[1:] if argv is None else argv
    try:
        print(hf_folder(args[0] if args else EMBEDDED))
    except InfermeterError as err:
        print(f"infermeter: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
