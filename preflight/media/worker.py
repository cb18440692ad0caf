"""Run an analyzer on a worker thread behind a bounded queue, so the decode loop never waits on it
(beyond the queue's depth, which bounds memory). Errors in the worker surface in ``finish``."""

from __future__ import annotations

import queue
import threading
from typing import Any, Generic, Protocol, TypeVar

T = TypeVar("T", covariant=True)
R = TypeVar("R")


class Analyzer(Protocol[T]):
    def add(self, *item: Any) -> None: ...
    def finish(self) -> T: ...


class Threaded(Generic[R]):
    _DONE = object()

    def __init__(self, analyzer: Analyzer[R], depth: int, name: str) -> None:
        self.analyzer = analyzer
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._abandoned = False
        self._thread = threading.Thread(target=self._run, name=f"preflight-{name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not self._DONE:
            if self._error is None and not self._abandoned:
                try:
                    self.analyzer.add(*item)
                except BaseException as err:  # re-raised in the caller's thread by finish()
                    self._error = err

    def add(self, *item: Any) -> None:
        self._queue.put(item)

    def abandon(self) -> None:
        """The decode failed or was interrupted: drop what is queued and let the worker end."""
        self._abandoned = True
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._queue.put(self._DONE)

    def finish(self) -> R:
        self._queue.put(self._DONE)
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self.analyzer.finish()
