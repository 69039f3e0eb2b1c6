"""--client-procs: a client process streams its records to the parent in batches and keeps none."""

from __future__ import annotations

import multiprocessing as mp
import queue
import threading

from infermeter.core.records import RequestRecord
from infermeter.scenarios.load_procs import BATCH, _PipeSink


def _record(k: int) -> RequestRecord:
    return RequestRecord(request_id=f"r{k}", phase="load", batch_id=k, batch_size=1, prompt_tokens=4,
                         t_send=float(k), token_times=[k + 0.5], extra={"point": 0, "k": k})  # fmt: skip


def test_records_leave_in_batches_as_they_finish_and_none_stay() -> None:
    parent, child = mp.Pipe()
    got: queue.Queue = queue.Queue()

    def read() -> None:  # the parent's reader, always receiving during a point
        for _ in range(3):
            got.put(parent.recv())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    sink = _PipeSink(child)
    n = 2 * BATCH + 10
    for k in range(n):
        sink.put(_record(k))
        assert len(sink.buf) < BATCH  # never more than one batch held in the client process
    first = [got.get(timeout=60), got.get(timeout=60)]  # two full batches left while the point ran
    assert [(kind, len(batch)) for kind, batch in first] == [("records", BATCH)] * 2
    assert sink.point_records(0) == [] and not sink.buf  # the rest is flushed at the end of the point
    kind, rest = got.get(timeout=60)
    reader.join(60)
    records = [RequestRecord.from_dict(d) for _, batch in (*first, (kind, rest)) for d in batch]
    assert [r.batch_id for r in records] == list(range(n))
