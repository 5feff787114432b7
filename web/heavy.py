"""Heavy work off the API's event loop: analyses and reports run in a bounded pool of child processes, each with a
database connection of its own (a request holds no pool connection while it waits). Each caller has a queue of
its own and callers are served in turn; a job that overruns its time kills only the child that runs it; a job
that waits too long for a child is answered 503. Children end with the API, even when it is SIGKILLed."""
from __future__ import annotations

import asyncio
import collections
import importlib
import os
import pickle
import signal
import struct
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from aiohttp import web

HEADER = struct.Struct("!Q")
PRELOAD = ("streams.analysis.service", "web.console.analysis", "streams.evaluation.report")  # what the jobs run


class ChildGone(Exception):
    """The child died under the job (out of memory, killed)."""


@dataclass(eq=False)
class Job:
    caller: str
    fn: Callable  # a module-level async function (conn, *args): pickled by its name
    args: tuple
    timeout: float
    memory: bool  # under the memory limit (analyses); Chromium, which reserves much address space, is not
    started: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    done: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class Child:
    """One child process: jobs in on its stdin, answers out on its stdout, framed pickles."""

    def __init__(self, proc: asyncio.subprocess.Process):
        self.proc = proc

    @classmethod
    async def start(cls, dsn: str, statement_timeout: float, memory_bytes: int) -> "Child":
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "web.heavy", str(os.getpid()), dsn, str(statement_timeout), str(memory_bytes),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, start_new_session=True)
        child = cls(proc)
        try:  # ready once its imports are done: a job's time limit is for the job alone
            await asyncio.wait_for(proc.stdout.readexactly(HEADER.size), 120)
        except (asyncio.TimeoutError, asyncio.IncompleteReadError):
            child.kill()
            await proc.wait()
            raise ChildGone() from None
        return child

    async def call(self, job: Job) -> Any:
        data = pickle.dumps((job.fn, job.args, job.memory))
        self.proc.stdin.write(HEADER.pack(len(data)) + data)
        try:
            await self.proc.stdin.drain()
            size, = HEADER.unpack(await self.proc.stdout.readexactly(HEADER.size))
            ok, value = pickle.loads(await self.proc.stdout.readexactly(size))
        except (asyncio.IncompleteReadError, ConnectionError, BrokenPipeError):
            raise ChildGone() from None
        if ok:
            return value
        raise value

    def kill(self) -> None:
        """The child and whatever it started (Chromium): they share its process group."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None


async def pure(conn, fn: Callable, *args: Any) -> Any:
    """A job that needs no connection (reading an uploaded file): `fn(*args)` in the child, off the API's loop."""
    return fn(*args)


class Heavy:
    def __init__(self, settings):
        s = settings
        self.workers, self.per_caller, self.wait = s.heavy_workers, s.heavy_queue_per_caller, s.heavy_wait_seconds
        self.child_args = (s.database_url, s.api_statement_timeout_seconds, s.analysis_memory_bytes)
        self.queues: collections.OrderedDict[str, collections.deque[Job]] = collections.OrderedDict()
        self.jobs: collections.Counter = collections.Counter()  # per caller: queued and running
        self.idle: list[Child] = []
        self.running: set[asyncio.Task] = set()
        self.spawned = 0  # children alive or starting
        self.serving: set[str] = set()  # callers with a job running
        self.closing = False

    async def run(self, caller: str, fn: Callable, *args: Any, timeout: float, memory: bool = True) -> Any:
        """fn(conn, *args) in a child, for `caller`: 429 past the caller's queue, 503 past the wait or the time."""
        if self.jobs[caller] >= self.per_caller:
            raise web.HTTPTooManyRequests(text=f"at most {self.per_caller} analyses or reports at once per caller:"
                                               " wait for those asked for", headers={"Retry-After": "5"})
        job = Job(caller, fn, args, timeout, memory)
        self.jobs[caller] += 1
        self.queues.setdefault(caller, collections.deque()).append(job)
        try:
            self._dispatch()
            try:
                await asyncio.wait_for(asyncio.shield(job.started), self.wait)
            except asyncio.TimeoutError:
                raise web.HTTPServiceUnavailable(text=f"every analysis process stayed busy for {self.wait:.0f} s:"
                                                      " try again", headers={"Retry-After": "10"}) from None
            return await job.done
        finally:
            self._forget(job)
            self.jobs[caller] -= 1
            if not self.jobs[caller]:
                del self.jobs[caller]

    def _forget(self, job: Job) -> None:
        q = self.queues.get(job.caller)
        if q is not None and job in q:  # never started: no child is taken for it
            q.remove(job)
            if not q:
                del self.queues[job.caller]

    def _next(self) -> Optional[Job]:
        """The first job of the first caller in line with none running (one job of a caller runs at a time, so
        one caller never takes every child); that caller goes to the back of the line."""
        for caller, q in self.queues.items():
            if caller in self.serving:
                continue
            job = q.popleft()
            del self.queues[caller]
            if q:
                self.queues[caller] = q
            return job
        return None

    def _dispatch(self) -> None:
        if self.closing:
            return
        while self.queues and (self.idle or self.spawned < self.workers):
            job = self._next()
            if job is None:
                return
            self.serving.add(job.caller)
            child = self.idle.pop() if self.idle else None
            if child is None:
                self.spawned += 1
            self._task(self._serve(job, child))
        if not self.idle and self.spawned < self.workers:  # a spare, warm before it is needed
            self.spawned += 1
            self._task(self._spare())

    def _task(self, work) -> None:
        task = asyncio.create_task(work)
        self.running.add(task)
        task.add_done_callback(self.running.discard)

    async def _spare(self) -> None:
        try:
            self.idle.append(await Child.start(*self.child_args))
        except ChildGone:
            self.spawned -= 1
            return
        self._dispatch()

    async def _serve(self, job: Job, child: Optional[Child]) -> None:
        try:
            if child is None:
                child = await Child.start(*self.child_args)
            job.started.set_result(None)
            job.done.set_result(await asyncio.wait_for(child.call(job), job.timeout))
        except asyncio.TimeoutError:
            job.done.set_exception(web.HTTPServiceUnavailable(
                text=f"the work ran past {job.timeout:.0f} s: narrow the window", headers={"Retry-After": "30"}))
        except (ChildGone, MemoryError):
            job.done.set_exception(web.HTTPServiceUnavailable(
                text="the work ran past its memory limit: narrow the window", headers={"Retry-After": "30"}))
        except BaseException as exc:  # the job's own error (a bad parameter, nothing found), for its caller
            if not job.done.done():
                job.done.set_exception(exc)
        finally:
            if not job.started.done():  # a child that could not start: its caller hears why at once
                job.started.set_result(None)
            self.serving.discard(job.caller)
            if child is not None and child.alive and job.done.done() and not isinstance(
                    job.done.exception(), web.HTTPServiceUnavailable):
                self.idle.append(child)
            else:
                if child is not None:
                    child.kill()
                    await child.proc.wait()
                self.spawned -= 1
            self._dispatch()

    def load(self) -> dict[str, Any]:
        busy, queued = len(self.serving), sum(len(q) for q in self.queues.values())
        return {"workers": self.workers, "busy": busy, "queued": queued,
                "saturated": busy >= self.workers and queued > 0}

    async def close(self) -> None:
        self.closing = True
        for t in list(self.running):
            t.cancel()
        await asyncio.gather(*self.running, return_exceptions=True)
        for c in self.idle:
            c.kill()
        self.idle.clear()


# ----------------------------------------------------------------------------- the child's side

def _die_with_parent(parent: int) -> None:
    """SIGKILL when the API ends, however it ends (Linux: PR_SET_PDEATHSIG); a parent already gone: exit now."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(0)


def _memory(limit: Optional[int]) -> None:
    """The address-space limit for the next job (None: lifted again, up to the hard limit)."""
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    soft = hard if limit is None or (hard != resource.RLIM_INFINITY and hard < limit) else limit
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def child_main(parent: int, dsn: str, statement_timeout: float, memory_bytes: int) -> None:
    import asyncpg

    _die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    jobs, answers = sys.stdin.buffer, os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print goes to the log, never into the answers
    for module in PRELOAD:
        importlib.import_module(module)
    answers.write(HEADER.pack(0))
    answers.flush()
    loop = asyncio.new_event_loop()
    conn = None
    while True:
        head = jobs.read(HEADER.size)
        if len(head) < HEADER.size:  # the API closed its end: it is gone or stopping
            return
        fn, args, memory = pickle.loads(jobs.read(HEADER.unpack(head)[0]))
        if conn is None or conn.is_closed():
            conn = loop.run_until_complete(asyncpg.connect(dsn, server_settings={
                "statement_timeout": str(int(statement_timeout * 1000))}))
        _memory(memory_bytes if memory else None)
        try:
            answer = (True, loop.run_until_complete(fn(conn, *args)))
        except BaseException as exc:  # the parent re-raises it for the caller
            answer = (False, exc)
        finally:
            _memory(None)
        try:
            data = pickle.dumps(answer)
        except Exception as exc:
            data = pickle.dumps((False, RuntimeError(f"{type(answer[1]).__name__}: {str(answer[1])[:500]} ({exc})")))
        answers.write(HEADER.pack(len(data)) + data)
        answers.flush()
        del answer, data


if __name__ == "__main__":
    child_main(int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), int(sys.argv[4]))
