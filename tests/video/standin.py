"""A local HTTP stand-in for Twilio Video's Rooms API (the SDK is pointed at it).

It keeps rooms by unique name as Twilio does: creating a second in-progress room with a
name already in use is refused with Twilio's error 53113, and a room is fetched by its
name. `script` gives the statuses of the next creations (e.g. [500] for one failure).
"""

import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class VideoStandIn:
    port: int = 0
    rooms: dict[str, dict] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    script: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def creations(self) -> int:
        return sum(1 for method, path in self.calls if method == "POST" and path == "/v1/Rooms")


def _handler(state: VideoStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def _reply(self, status: int, body: dict) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_POST(self) -> None:
            path = urlsplit(self.path).path
            form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode())
            with state.lock:
                state.calls.append(("POST", path))
                status = state.script.pop(0) if state.script else 201
                name = form.get("UniqueName", [""])[0]
                if path != "/v1/Rooms":
                    self._reply(404, {"code": 20404, "message": "not here", "status": 404})
                elif status != 201:
                    self._reply(status, {"code": 20500, "message": "Internal error", "status": status})
                elif name in state.rooms:
                    self._reply(400, {"code": 53113, "message": "Room exists", "status": 400})
                else:
                    room = {"sid": "RM" + uuid.uuid4().hex, "unique_name": name, "status": "in-progress"}
                    state.rooms[name] = room
                    self._reply(201, room)

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            with state.lock:
                state.calls.append(("GET", path))
                room = state.rooms.get(path.removeprefix("/v1/Rooms/"))
            if room is None:
                self._reply(404, {"code": 20404, "message": "not found", "status": 404})
            else:
                self._reply(200, room)

    return Handler


class VideoStandInServer:
    def __init__(self) -> None:
        self.state = VideoStandIn()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.state))
        self.state.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> VideoStandIn:
        self.thread.start()
        return self.state

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
