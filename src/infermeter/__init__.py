"""infermeter: honest measurements of LLM and VLM inference (speed, memory, scaling, accuracy)."""

__version__ = "0.1.0"

from infermeter.errors import InfermeterError

__all__ = ["InfermeterError", "__version__", "run", "sweep"]


def run(config=None, **kwargs):  # noqa: ANN001, ANN201 - thin lazy re-export keeps `import infermeter` light
    """Run a measurement; see :func:`infermeter.api.run`."""
    from infermeter.api import run as _run

    return _run(config, **kwargs)


def sweep(config=None, knobs=None, **kwargs):  # noqa: ANN001, ANN201 - lazy, like run
    """Measure a grid over config knobs; see :func:`infermeter.api.sweep`."""
    from infermeter.api import sweep as _sweep

    return _sweep(config, knobs, **kwargs)
