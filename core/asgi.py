"""Django's ASGI handler for a platform whose views are synchronous: one trip to a thread.

Django's own `ASGIHandler` runs the middleware chain in async mode. With synchronous views
and middleware that is four or more trips between the event loop and a worker thread per
request (the `request_started` signal, the middleware chain, back to the loop for the view
resolution, the view, the response's close), each waiting for the loop. On a process that
also delivers websocket events, a loop busy fanning an event out to thousands of sockets
holds every REST request up at each trip.

This handler loads the middleware chain in synchronous mode (as a WSGI server would) and
serves each request in one call on a thread of its own pool: signal, request, middleware,
view and, for an ordinary response, its close (which hands the thread's database connection
back to the pool). The loop only reads the body and writes the answer. A streaming response
(a file) is sent and closed the way Django's handler does.
"""

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.db import close_old_connections
from django.http import HttpResponseBase
from django.urls import set_script_prefix


class ThreadedASGIHandler(ASGIHandler):
    def __init__(self, *, threads: int) -> None:
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="http")
        self._respond_async = sync_to_async(self._respond, thread_sensitive=False, executor=self.executor)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        try:
            response = await self._respond_async(scope, body_file)
            await self.send_response(response, send)
            if response.streaming:
                await sync_to_async(response.close)()
        finally:
            body_file.close()

    def _respond(self, scope: dict[str, Any], body_file: Any) -> HttpResponseBase:
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, error_response = self.create_request(scope, body_file)
        if request is None:
            assert error_response is not None  # create_request gives one or the other
            response: HttpResponseBase = error_response
        else:
            response = self.get_response(request)
            response._handler_class = self.__class__  # type: ignore[attr-defined]
        if response.streaming:
            # Sent (and closed) from the loop: give this thread's connection back now.
            close_old_connections()
        else:
            response.close()
        return response
