"""Baseline 1: a bare websocket server without Django, answering every CALL with a canned CALLRESULT.

python -m bench.baselines.bare_ws PORT
"""

import asyncio
import sys

from websockets.asyncio.server import serve

from bench.baselines.canned import answer


async def station(connection) -> None:
    async for text in connection:
        reply = answer(text)
        if reply is not None:
            await connection.send(reply)


def select_subprotocol(connection, offered):
    for protocol in ("ocpp2.0.1", "ocpp1.6"):
        if protocol in offered:
            return protocol
    return None


async def main(port: int) -> None:
    async with serve(
        station,
        "127.0.0.1",
        port,
        select_subprotocol=select_subprotocol,
        compression=None,
        ping_interval=30,
        max_size=2**21,
        backlog=4096,
    ):
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
