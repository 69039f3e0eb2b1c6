"""Executors: where and how the independent tasks of a sweep, compare or soak run.

A *task* is one measured unit (a sweep point, one compare variant-round, one soak strategy): a
module-level function and its payload, run in a fresh worker process that returns a plain dict.

* ``local`` (default): one task after another on this host, each in a fresh spawned process, the
  worker writing its run files and results-database rows itself (the behaviour before executors).
* ``local`` with ``devices=[0, 1, ...]``: the same tasks over this host's GPUs at the same time, each
  worker seeing only its GPUs (``CUDA_VISIBLE_DEVICES``), no Ray needed.
* ``ray``: Ray tasks asking ``num_gpus`` = the GPUs the task's config needs, one fresh Ray worker
  process per task (``max_calls=1``), scheduled over every GPU of the cluster.

Except in plain sequential ``local``, the worker writes into a scratch folder of its own host and
returns those files with its result; the driver alone writes reports, records and the results
database, as each task returns. Every outcome carries its placement (executor, node, GPU ids).
"""

from infermeter.executors.base import Executor, Outcome, Task
from infermeter.executors.factory import make_executor

__all__ = ["Executor", "Outcome", "Task", "make_executor"]
