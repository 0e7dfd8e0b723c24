"""A stand-in for the publication's own site: an HTTP server on 127.0.0.1, in a thread, that
serves whatever a test puts at a path (feeds, article pages, errors), answers conditional
requests with 304, and remembers the headers of every request it was sent."""

import http.server
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Resource:
    body: bytes = b""
    status: int = 200
    content_type: str = "application/xml"
    etag: str = ""
    last_modified: str = ""
    delay: float = 0.0
    headers: dict = field(default_factory=dict)


class LocalSite:
    def __init__(self):
        self.resources = {}
        self.requests = []  # (path, headers) in order
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                site.requests.append((self.path, dict(self.headers)))
                resource = site.resources.get(self.path.split("?")[0])
                if resource is None:
                    self.send_error(404)
                    return
                if resource.delay:
                    time.sleep(resource.delay)
                if resource.etag and self.headers.get("If-None-Match") == resource.etag:
                    self.send_response(304)
                    self.send_header("ETag", resource.etag)
                    self.end_headers()
                    return
                self.send_response(resource.status)
                self.send_header("Content-Type", resource.content_type)
                self.send_header("Content-Length", str(len(resource.body)))
                if resource.etag:
                    self.send_header("ETag", resource.etag)
                if resource.last_modified:
                    self.send_header("Last-Modified", resource.last_modified)
                for name, value in resource.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                try:
                    self.wfile.write(resource.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path):
        return self.origin + path

    def put(self, path, body, **options):
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.resources[path] = Resource(body=body, **options)
        return self.url(path)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
