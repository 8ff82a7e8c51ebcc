"""Heap trimming: freed memory goes back to the OS on glibc, off the event loop; a no-op elsewhere."""

from __future__ import annotations

import asyncio
import platform
import threading
import warnings

import pytest

from mockserver import MockConfig, create_app
from mockserver._heap import HeapTrimmer, glibc_malloc_trim

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

ON_GLIBC = platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not ON_GLIBC, reason="malloc_trim is glibc's")
def test_glibc_malloc_trim_is_found_and_callable() -> None:
    trim = glibc_malloc_trim()
    assert trim is not None and trim() in (0, 1)


def test_the_trimmer_calls_trim_off_the_loop_every_interval_until_cancelled() -> None:
    threads: list[int] = []

    def trim() -> int:
        threads.append(threading.get_ident())
        return 1

    async def scenario() -> HeapTrimmer:
        trimmer = HeapTrimmer(trim=trim, interval_s=0.01)
        task = asyncio.create_task(trimmer.run())
        while trimmer.trims < 3:
            await asyncio.sleep(0.005)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert threading.get_ident() not in threads  # never on the event loop's thread
        return trimmer

    trimmer = asyncio.run(scenario())
    calls = trimmer.trims
    assert calls >= 3 and len(threads) >= calls


def test_without_malloc_trim_the_trimmer_does_nothing() -> None:
    trimmer = HeapTrimmer(trim=None, interval_s=0.01)
    assert not trimmer.enabled
    asyncio.run(asyncio.wait_for(trimmer.run(), timeout=1))  # returns at once
    assert trimmer.trims == 0


def test_the_app_trims_while_it_serves() -> None:
    app = create_app(MockConfig(api="hookstream"))
    trimmer = app.state.heap_trimmer
    assert trimmer.enabled == (glibc_malloc_trim() is not None)
    trimmer.interval_s = 0.01
    with TestClient(app) as client:
        assert client.get("/__mock/health").status_code == 200
        for _ in range(200):
            if trimmer.trims or not trimmer.enabled:
                break
            client.portal.call(asyncio.sleep, 0.01)
    assert trimmer.trims > 0 or not trimmer.enabled
