"""The process's batch of high-volume CALLs of every connection, handled together: MeterValues and Heartbeats in
steady operation, BootNotifications and StatusNotifications when a whole network reconnects at once.

Each CALL waits for a database round trip; under load many stations wait at once. Instead of one worker-thread
call, one transaction and two INSERTs per message, the CALLs that arrive while earlier batches are in the database
go together (`dispatch.calls_handle`): one thread hop, one transaction and one INSERT per table for all of them. A
lone CALL goes at once, so an idle server answers as fast as before; a station is answered only after its batch
has committed, so "answered" still means "stored". docs/performance.md has the figures.
"""

import asyncio
from collections import defaultdict

from apps.ocpp.dispatch import Answer, QueuedCall, calls_handle
from apps.whitelabel.tenancy import run_in_tenant

BATCHED_ACTIONS = frozenset({"MeterValues", "Heartbeat", "StatusNotification", "BootNotification"})
# At most this many CALLs in one transaction, and this many batches in the database at once (of the
# DB_WORKER_THREADS threads, the rest stay free for everything else).
BATCH_MAX_CALLS = 200
BATCHES_IN_FLIGHT = 4


class CallBatcher:
    """Gathers CALLs per tenant schema; runs at most BATCHES_IN_FLIGHT batches at a time, each taking all that
    waited (up to BATCH_MAX_CALLS)."""

    def __init__(self):
        self.waiting: dict[str, list[tuple[QueuedCall, asyncio.Future]]] = defaultdict(list)
        self.in_flight = 0

    async def handle(self, schema_name: str, queued: QueuedCall) -> Answer:
        answer = asyncio.get_running_loop().create_future()
        self.waiting[schema_name].append((queued, answer))
        if self.in_flight < BATCHES_IN_FLIGHT:
            self.in_flight += 1
            asyncio.create_task(self._run())
        return await answer

    async def _run(self) -> None:
        try:
            while self.waiting:
                schema_name = next(iter(self.waiting))
                batch = self.waiting[schema_name][:BATCH_MAX_CALLS]
                del self.waiting[schema_name][:BATCH_MAX_CALLS]
                if not self.waiting[schema_name]:
                    del self.waiting[schema_name]
                try:
                    answers = await run_in_tenant(schema_name, calls_handle, queued=[item for item, _ in batch])
                except Exception as error:  # noqa: BLE001 - every waiting station hears of it (InternalError)
                    for _, answer in batch:
                        if not answer.done():
                            answer.set_exception(error)
                else:
                    for (_, answer), result in zip(batch, answers, strict=True):
                        if not answer.done():
                            answer.set_result(result)
        finally:
            self.in_flight -= 1


_batchers: dict[asyncio.AbstractEventLoop, CallBatcher] = {}


def call_batcher() -> CallBatcher:
    """The batcher of the running event loop (one per server process)."""
    loop = asyncio.get_running_loop()
    batcher = _batchers.get(loop)
    if batcher is None:
        _batchers.clear()  # a previous loop (tests run several) is gone
        batcher = _batchers[loop] = CallBatcher()
    return batcher
