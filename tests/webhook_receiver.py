"""A real webhook receiver on loopback, for notification tests."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from services.evaluation.notifications.delivery import EVENT_ID_HEADER


class Receiver:
    """A webhook receiver in a thread: records every request, answers from a script of
    status codes (then 200), and deduplicates on the event id as a receiver should."""

    def __init__(self, port: int = 0, script: list[int | tuple[int, str]] | None = None) -> None:
        self.requests: list[dict] = []
        self.script = list(script or [])
        self.seen: set[str] = set()
        self.acted: list[str] = []  # event ids acted upon, once each
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.requests.append({"headers": dict(self.headers), "body": body})
                    event_id = self.headers.get(EVENT_ID_HEADER, "")
                    if event_id not in receiver.seen:  # deduplicate before acting
                        receiver.seen.add(event_id)
                        receiver.acted.append(event_id)
                    answer = receiver.script.pop(0) if receiver.script else 200
                status, retry_after = answer if isinstance(answer, tuple) else (answer, "")
                self.send_response(status)
                if retry_after:
                    self.send_header("Retry-After", retry_after)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def event_ids(self) -> list[str]:
        return [r["headers"][EVENT_ID_HEADER] for r in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
