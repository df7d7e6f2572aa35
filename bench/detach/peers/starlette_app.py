"""sse-starlette streams on uvicorn: python -m uvicorn starlette_app:app (from this directory).

    /stream   an EventSourceResponse (ping every 15 s, retry 2000) fed by its own queue
    /publish  puts event `e` whose data is time.time_ns() (CLOCK_REALTIME ns) on every queue
    /plain    an ordinary response
"""
import asyncio
import time

from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

queues = set()


async def stream(request):
    queue = asyncio.Queue(maxsize=1000)

    async def events():
        queues.add(queue)
        try:
            yield ServerSentEvent(retry=2000)
            while True:
                yield await queue.get()
        finally:
            queues.discard(queue)

    return EventSourceResponse(events(), ping=15)


async def publish(request):
    t = time.time_ns()
    event = ServerSentEvent(data=str(t), event="e")
    for queue in list(queues):
        try:
            queue.put_nowait(event)
        except asyncio.QueueFull:
            pass
    return JSONResponse({"sent": t, "streams": len(queues)})


async def plain(request):
    return PlainTextResponse("ok\n")


app = Starlette(routes=[Route("/stream", stream), Route("/publish", publish), Route("/plain", plain)])
