"""Admission control: past ``max_in_flight`` commands a request that changes something waits at most
the admission wait, then is answered 503 overloaded with Retry-After without reaching the route;
reads are never held back."""

from __future__ import annotations

import asyncio
import time

import httpx
from starlette.types import Receive, Scope, Send

from interfaces.http.admission import Admission


class _Held:
    """An application whose requests wait until released, counting those that reached it."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.reached = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.reached += 1
        if scope["method"] == "POST":
            await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


def test_a_command_past_capacity_is_refused_at_once_and_reads_pass() -> None:
    async def scenario() -> None:
        inner = _Held()
        admission = Admission(inner, max_in_flight=2, queue_seconds=0.05)
        transport = httpx.ASGITransport(app=admission)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            held = [asyncio.create_task(client.post("/v1/bots", json={})) for _ in range(2)]
            while inner.reached < 2:
                await asyncio.sleep(0.001)
            started = time.perf_counter()
            refused = await client.post("/v1/bots", json={})
            waited = time.perf_counter() - started
            assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"
            assert refused.json()["error"]["code"] == "overloaded"
            assert 0.04 <= waited < 1, waited
            assert inner.reached == 2 and admission.refused == 1, "the refused request did nothing"
            assert (await client.get("/v1/bots")).status_code == 200  # reads are not held back
            inner.release.set()
            assert [answer.status_code for answer in await asyncio.gather(*held)] == [200, 200]
            assert (await client.post("/v1/bots", json={})).status_code == 200  # places are given back

    asyncio.run(scenario())


def test_a_command_waiting_for_a_place_gets_one_freed_within_the_wait() -> None:
    async def scenario() -> None:
        inner = _Held()
        admission = Admission(inner, max_in_flight=1, queue_seconds=5)
        transport = httpx.ASGITransport(app=admission)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            first = asyncio.create_task(client.post("/v1/bots", json={}))
            while inner.reached < 1:
                await asyncio.sleep(0.001)
            second = asyncio.create_task(client.post("/v1/bots", json={}))
            await asyncio.sleep(0.05)
            assert inner.reached == 1
            inner.release.set()
            assert [(await first).status_code, (await second).status_code] == [200, 200]
            assert admission.refused == 0

    asyncio.run(scenario())
