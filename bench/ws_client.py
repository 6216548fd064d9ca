"""The websocket side of `make bench` (bench/suite.py): N sockets in one process.

    python bench/ws_client.py --urls ws://127.0.0.1:P1/ws/ [ws://...:P2/ws/] --token T \
        --topic doctor.7.availability --n 2000

Opens the sockets in batches of 50 as the floor's client does (socket i on urls[i % len]),
authenticates each with the token (contract §9) and subscribes it, then prints
`READY <subscribed> <seconds it took>`. From then on, each event that every subscribed
socket has received is reported as `DONE {"id", "start", "last"}` (`last`: the epoch time
at which the last socket had it). A line `STOP` on stdin ends the run with
`REPORT {"duplicates", "out_of_order", "errors"}`: an event a socket received twice, or
one older than the last it received on the topic, counts there.
"""

import argparse
import asyncio
import json
import sys
import time

from tools import raise_fd_limit  # bench/ is the script's directory


async def _subscriber(url: str, origin: str, token: str, topic: str, state: dict) -> None:
    import websockets
    from websockets.typing import Origin

    for _attempt in range(5):
        try:
            async with websockets.connect(
                url, origin=Origin(origin), max_queue=None, open_timeout=120, ping_interval=None
            ) as ws:
                await ws.send(json.dumps({"action": "auth", "token": token}))
                await ws.recv()
                await ws.send(json.dumps({"action": "subscribe", "topic": topic}))
                answer = json.loads(await ws.recv())
                if answer.get("type") != "subscribed":
                    state["errors"].append(repr(answer))
                    return
                state["subscribed"] += 1
                last_id = 0
                seen: set[int] = set()
                async for frame in ws:
                    now = time.time()
                    message = json.loads(frame)
                    if message.get("type") != "event":
                        continue
                    event_id = message["id"]
                    if event_id in seen:
                        state["duplicates"] += 1
                        continue
                    seen.add(event_id)
                    if event_id < last_id:
                        state["out_of_order"] += 1
                    last_id = max(last_id, event_id)
                    count = state["count"].get(event_id, 0) + 1
                    state["count"][event_id] = count
                    if count == state["subscribed"]:
                        done = {"id": event_id, "start": message["data"].get("start"), "last": now}
                        print("DONE", json.dumps(done), flush=True)
                return
        except (TimeoutError, OSError, websockets.WebSocketException) as error:
            state["errors"].append(repr(error))
            await asyncio.sleep(0.5)


async def _run(args: argparse.Namespace) -> None:
    state: dict = {"subscribed": 0, "count": {}, "errors": [], "duplicates": 0, "out_of_order": 0}
    tasks: list[asyncio.Future] = []
    began = time.time()
    deadline = began + 600
    for first in range(0, args.n, 50):
        last = min(first + 50, args.n)
        tasks.extend(
            asyncio.ensure_future(
                _subscriber(args.urls[i % len(args.urls)], args.origin, args.token, args.topic, state)
            )
            for i in range(first, last)
        )
        while state["subscribed"] + len(state["errors"]) < last and time.time() < deadline:
            await asyncio.sleep(0.02)
    print("READY", state["subscribed"], f"{time.time() - began:.2f}", flush=True)
    loop = asyncio.get_running_loop()
    while (await loop.run_in_executor(None, sys.stdin.readline)).strip() not in ("STOP", ""):
        pass
    report = {k: state[k] for k in ("duplicates", "out_of_order")} | {"errors": state["errors"][:5]}
    print("REPORT", json.dumps(report), flush=True)
    for task in tasks:
        task.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--urls", nargs="+", required=True)
    parser.add_argument("--origin", default="http://127.0.0.1")
    parser.add_argument("--token", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--n", type=int, required=True)
    args = parser.parse_args()
    raise_fd_limit()
    asyncio.run(_run(args))


if __name__ == "__main__":
    main()
