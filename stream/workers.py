"""The CPU-heavy, pure step (:func:`stream.pipeline.prepare_many`) on worker processes.

Chunks go out in order and results come back in order, so callers keep the
per-partition order of decisions. ``workers=0`` runs everything in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from functools import partial

import orjson

from stream.models import Prepared, Rejected
from stream.pipeline import prepare_many

Item = tuple[bytes | None, float | None]  # raw value, fallback event time


class Workers:
    def __init__(self, workers: int, max_bytes: int, fingerprinted: bool = True, learn: bool = False) -> None:
        self.size = workers
        self._fn = partial(prepare_many, max_bytes=max_bytes, fingerprinted=fingerprinted, learn=learn)
        self._pool: Executor | None = None
        if workers > 0:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(["stream.pipeline"])
            self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_warm,
                                             initargs=(os.getpid(),))

    def _chunks(self, items: list[Item]) -> list[list[Item]]:
        if not items:
            return []
        n = max(1, min(len(items), self.size * 2))
        step = -(-len(items) // n)
        return [items[i : i + step] for i in range(0, len(items), step)]

    async def start(self) -> None:
        """Start every worker process and let it warm up, before the first batch waits on it."""
        if self._pool is not None:
            loop = asyncio.get_running_loop()
            await asyncio.gather(*(loop.run_in_executor(self._pool, int) for _ in range(self.size)))

    async def prepare(self, items: list[Item]) -> list[Prepared | Rejected]:
        """Prepare a batch without blocking the event loop."""
        if self._pool is None:
            return await asyncio.to_thread(self._fn, items)
        loop = asyncio.get_running_loop()
        parts = await asyncio.gather(*(loop.run_in_executor(self._pool, self._fn, c) for c in self._chunks(items)))
        return [r for part in parts for r in part]

    def stream(self, items: Iterable[Item], chunk: int = 64, ahead: int = 8) -> Iterator[Prepared | Rejected]:
        """Prepare a long sequence, in order, keeping at most ``ahead`` chunks in flight."""
        if self._pool is None:
            for item in items:
                yield from self._fn([item])
            return
        pending: list[Future] = []
        buf: list[Item] = []
        for item in items:
            buf.append(item)
            if len(buf) >= chunk:
                pending.append(self._pool.submit(self._fn, buf))
                buf = []
                if len(pending) >= ahead * max(1, self.size):
                    yield from pending.pop(0).result()
        if buf:
            pending.append(self._pool.submit(self._fn, buf))
        for fut in pending:
            yield from fut.result()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _warm(service: int) -> None:
    """Watch the service process, then run the sample pages through every step once: the
    first page a process sees would otherwise pay for loading the language model and the
    like (about half a second)."""
    from stream.samples import records

    threading.Thread(target=_watch, args=(service,), daemon=True, name="watch-service").start()
    prepare_many([(orjson.dumps(r), None) for r in records()], max_bytes=1 << 24)


def _watch(service: int, every: float = 1.0) -> None:
    """End this worker, and the fork server it came from, once the service process is gone
    (a ``kill -9`` of the service must not leave its workers running)."""
    while True:
        time.sleep(every)
        try:
            os.kill(service, 0)
        except ProcessLookupError:
            break
        except PermissionError:  # alive, under another user (a reused pid at worst)
            continue
    parent = os.getppid()
    if parent not in (service, 1):  # the fork server: nothing else needs it
        with contextlib.suppress(OSError):
            os.kill(parent, signal.SIGKILL)
    os._exit(0)
