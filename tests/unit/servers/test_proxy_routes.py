"""The caching proxy's routes: coroutine handlers (aiohttp deprecates bare functions), and /health answers."""

from __future__ import annotations

import asyncio
import warnings

from aiohttp.test_utils import TestClient, TestServer

from infermeter.servers.cache_proxy import CachingProxy


def test_health_answers_and_no_route_is_a_deprecated_bare_function():
    async def main() -> tuple[int, str]:
        with warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)  # "Bare functions are deprecated"
            app = CachingProxy("http://127.0.0.1:9", None).app()  # the upstream is never asked here
        async with TestClient(TestServer(app)) as client:
            resp = await client.get("/health")
            return resp.status, await resp.text()

    assert asyncio.run(main()) == (200, "ok")
