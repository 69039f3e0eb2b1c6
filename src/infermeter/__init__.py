"""infermeter: honest measurements of LLM and VLM inference (speed, memory, scaling, accuracy).

From Python (a script or a notebook)::

    import infermeter

    if __name__ == "__main__":  # workers are spawned processes that re-import the script
        report = infermeter.run({"model": {"name": "tiny-qwen3"}}, limit=2, max_new_tokens=16)
        print(report.metrics["decode_tps"]["mean"])

``run``, ``compare``, ``soak``, ``sweep`` and ``load`` are documented in :mod:`infermeter.api.library`:
they return a :class:`~infermeter.results.schema.Report` (``.metrics``, ``.data``, ``.path``), keep
their files in a temporary folder unless given ``output=``, and write the results database only
with ``db=True``. ``infermeter explain TERM`` (or :func:`infermeter.metrics.glossary.explain`) says what a
metric name means.
"""

from typing import Any

__version__ = "0.1.0"

from infermeter.errors import InfermeterError

__all__ = ["InfermeterError", "__version__", "compare", "load", "run", "soak", "sweep"]
_LIBRARY = ("compare", "load", "run", "soak", "sweep")


def __getattr__(name: str) -> Any:
    # Lazy: `import infermeter` stays light (no pydantic, no torch) until a function is used.
    if name in _LIBRARY:
        from infermeter.api import library

        return getattr(library, name)
    raise AttributeError(f"module 'infermeter' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LIBRARY})
