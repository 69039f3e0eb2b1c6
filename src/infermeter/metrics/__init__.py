"""Metrics: pure functions of request records, and the registry every view reads.

Importing the package registers the built-in metrics (:mod:`infermeter.metrics.catalog`).
"""

from infermeter.metrics import catalog as catalog  # registers the built-in metrics
