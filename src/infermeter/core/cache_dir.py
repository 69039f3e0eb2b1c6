"""infermeter's on-disk cache (converted tokenizers and models): ``$INFERMETER_CACHE`` or
``~/.cache/infermeter``. Everything in it can be deleted; it is rebuilt from installed packages."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """The cache directory (not created here)."""
    return Path(os.environ.get("INFERMETER_CACHE", Path.home() / ".cache" / "infermeter"))
