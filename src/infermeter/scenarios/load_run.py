"""``execute``: one load run end to end (prompts, connections, scraping, the points, the records)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from infermeter.backends.base import serving_backend_for
from infermeter.core.clock import PerfClock
from infermeter.core.records import RECORDS_FILE, RecordSink
from infermeter.errors import InfermeterError
from infermeter.scenarios import load_extras as ex
from infermeter.scenarios.load import LoadRunner, RequestFn, ThreadedSink, prompts_for
from infermeter.scenarios.load_procs import ClientProcs, run_procs
from infermeter.scenarios.load_profiles import LoadOptions, planned_requests
from infermeter.scenarios.load_shards import ClientShards
from infermeter.scenarios.server_metrics import metrics_url, scraping


def execute(cfg: Any, opts: LoadOptions, run_dir: Path, view: Any, meta: dict[str, Any], wrap: Any = None) -> None:
    """Run the whole load test; ``meta`` receives what the records do not hold (load info, stop reason).

    ``wrap(request_fn) -> request_fn`` may replace the request path (e.g. a response cache).
    """

    backend = serving_backend_for(cfg.backend)(cfg, PerfClock())
    meta["load"] = backend.load().__dict__
    backend.close()
    prompts, force = prompts_for(backend, cfg, planned_requests(opts))

    procs: ClientProcs | ClientShards | None = None
    if opts.client_procs > 1:
        if wrap is not None:
            raise InfermeterError("--client-procs > 1 cannot share a response cache (--cache): use one process")

        procs = ClientProcs(opts.client_procs, cfg, opts, prompts, force, backend.served, backend.tok)
        meta["connections_warmed"] = procs.warmed
    elif opts.executor == "ray":  # --client-shards: Ray actors, on different nodes where there are some
        if wrap is not None:
            raise InfermeterError("--executor ray cannot share a response cache (--cache) between client shards")
        procs = ClientShards(opts.client_shards or 1, cfg, opts, prompts, force, backend.served, backend.tok)
        meta["connections_warmed"] = procs.warmed
        meta["client_shards"] = procs.describe()
    meta["server_metrics_url"] = url = metrics_url(cfg.server.base_url or "", opts.server_metrics)
    sink = ThreadedSink(RecordSink(Path(run_dir) / RECORDS_FILE))

    async def main() -> None:
        client = backend.make_client()
        await client.open()
        if procs is None:
            meta["connections_warmed"] = await ex.warm_pool(client, ex.pool_size(opts))
        request: RequestFn = wrap(client.request) if wrap else client.request
        runner = LoadRunner(request, prompts, cfg.generation, force, opts, sink, client.now)

        async def tick() -> None:
            while True:
                view.show(runner.state, runner.errors, client.now())
                await asyncio.sleep(0.25)

        ticker = asyncio.ensure_future(tick())
        try:
            async with scraping(url, client.now) as meta["scraper"]:
                if procs is not None:
                    await run_procs(procs, ex.profiles_for(opts), opts, sink, meta)
                else:
                    await runner.run(ex.profiles_for(opts))
        finally:
            if procs is None:
                meta["stopped"] = runner.stopped
            ticker.cancel()
            await client.close()

    try:
        asyncio.run(main())
    finally:
        sink.close()
        if procs is not None:
            procs.close()
        ex.save_samples(Path(run_dir), meta.get("scraper"))
