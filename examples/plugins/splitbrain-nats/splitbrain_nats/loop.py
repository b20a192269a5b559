"""An asyncio event loop on its own thread, for one client (nats-py is asyncio only).

The loop runs between calls too, so the connection answers the server's pings
and notices a closed socket while the worker waits for its next op.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import Any, Awaitable, TypeVar

T = TypeVar("T")

# Grace for the loop thread to deliver a result after the coroutine's own
# deadline fired (a busy 2-core machine delays the hand-over by milliseconds).
_HANDOVER_S = 1.0


class LoopThread:
    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, coro: Awaitable[T], timeout: float) -> T:
        """Run ``coro`` on the loop; TimeoutError once ``timeout`` seconds pass."""
        fut = asyncio.run_coroutine_threadsafe(_bounded(coro, timeout), self.loop)
        try:
            return fut.result(timeout + _HANDOVER_S)
        except concurrent.futures.TimeoutError:
            fut.cancel()
            raise TimeoutError(f"no answer within {timeout:.3g}s") from None

    def close(self) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self.loop.close()


async def _bounded(coro: Awaitable[Any], timeout: float) -> Any:
    return await asyncio.wait_for(coro, timeout=max(0.001, timeout))
