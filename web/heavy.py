"""Heavy work off the API's event loop: decision support runs in a child process with a time and a memory limit,
one request at a time per caller; a child that overruns is killed and the next request gets a fresh one."""
from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Awaitable, Callable, Optional, TypeVar

from aiohttp import web

T = TypeVar("T")


def _limit_memory(limit: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


class Heavy:
    def __init__(self, timeout: float, memory_bytes: int, workers: int = 1):
        self.timeout, self.memory, self.workers = timeout, memory_bytes, workers
        self.pool: Optional[ProcessPoolExecutor] = None
        self.busy: set[str] = set()

    def executor(self) -> Executor:
        if self.pool is None:
            self.pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                            initializer=_limit_memory, initargs=(self.memory,))
        return self.pool

    def kill(self) -> None:
        pool, self.pool = self.pool, None
        if pool is not None:
            for p in list(getattr(pool, "_processes", {}).values()):
                p.kill()
            pool.shutdown(wait=False, cancel_futures=True)

    async def run(self, caller: str, work: Callable[[Executor], Awaitable[T]]) -> T:
        if caller in self.busy:
            raise web.HTTPTooManyRequests(text="one analysis at a time per caller: wait for the one running",
                                          headers={"Retry-After": "5"})
        self.busy.add(caller)
        try:
            return await asyncio.wait_for(work(self.executor()), self.timeout)
        except asyncio.TimeoutError:
            self.kill()
            raise web.HTTPServiceUnavailable(text=f"the analysis ran past {self.timeout:.0f} s: narrow the window or"
                                                  " raise min_support", headers={"Retry-After": "30"}) from None
        except (BrokenProcessPool, MemoryError):
            self.kill()
            raise web.HTTPServiceUnavailable(text="the analysis ran past its memory limit: narrow the window",
                                             headers={"Retry-After": "30"}) from None
        finally:
            self.busy.discard(caller)

    async def close(self) -> None:
        self.kill()
