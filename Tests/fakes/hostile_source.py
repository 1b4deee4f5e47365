"""A hostile download source for the outbound-policy tests: not a fake of any vendor, but the
server an attacker would point a recording URL at. Real HTTP on loopback.

    python3 Tests/fakes/hostile_source.py

Prints `ready port=<p> trap=<q>` once both listen. `trap` is a second listener that only
counts the connections it accepts (GET http://127.0.0.1:<p>/_accepts tells how many): a test
that points a refused URL at it proves no connection was made.

    GET /audio.mp3              a small real MP3 frame sequence (ID3 tag first)
    GET /html-as-audio          an HTML page declared `audio/mpeg, text/html`
    GET /redirect?to=<url>      302 to <url>
    GET /tarpit                 headers, then one byte every second for a minute
    GET /big?bytes=N            N bytes of MP3-looking data, without Content-Length
    GET /gzip-bomb              a small gzip body declared Content-Encoding: gzip
    GET /_tarpit                how long the last /tarpit client stayed connected, in seconds
"""

import gzip
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

STATE = {"accepts": 0, "tarpit_seconds": None}
LOCK = threading.Lock()
MP3 = b"ID3\x03\x00\x00\x00\x00\x00\x00" + (b"\xff\xfb\x90\x64" + b"\x00" * 413) * 20


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, content_type="application/octet-stream", headers=None, length=True):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if length:
            self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urlparse(self.path)
        query = parse_qs(url.query)
        if url.path == "/_accepts":
            with LOCK:
                return self.reply(200, str(STATE["accepts"]).encode(), "text/plain")
        if url.path == "/_tarpit":
            with LOCK:
                return self.reply(200, str(STATE["tarpit_seconds"]).encode(), "text/plain")
        if url.path == "/audio.mp3":
            return self.reply(200, MP3, "audio/mpeg")
        if url.path == "/html-as-audio":
            return self.reply(200, b"<html><script>alert(document.cookie)</script></html>", "audio/mpeg, text/html")
        if url.path == "/redirect":
            return self.reply(302, b"", headers={"Location": query["to"][0]})
        if url.path == "/gzip-bomb":
            body = gzip.compress(b"\x00" * (20 << 20))
            return self.reply(200, body, "audio/mpeg", headers={"Content-Encoding": "gzip"})
        if url.path == "/big":
            total = int(query["bytes"][0])
            self.send_response(200)
            self.send_header("Content-Type", "audio/mpeg")
            self.send_header("Connection", "close")
            self.end_headers()
            chunk = MP3[:4096].ljust(4096, b"\x00")
            sent = 0
            try:
                while sent < total:
                    self.wfile.write(chunk)
                    sent += len(chunk)
            except OSError:
                pass
            self.close_connection = True
            return
        if url.path == "/tarpit":
            started = time.monotonic()
            self.send_response(200)
            self.send_header("Content-Type", "audio/mpeg")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            try:
                self.wfile.write(MP3[:16])
                self.wfile.flush()
                for _ in range(60):
                    time.sleep(1)
                    self.wfile.write(b"\x00")
                    self.wfile.flush()
            except OSError:
                pass
            with LOCK:
                STATE["tarpit_seconds"] = round(time.monotonic() - started, 1)
            self.close_connection = True
            return
        return self.reply(404, b"no such thing", "text/plain")


def trap(listener):
    while True:
        connection, _ = listener.accept()
        with LOCK:
            STATE["accepts"] += 1
        connection.close()


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    threading.Thread(target=trap, args=(listener,), daemon=True).start()
    print(f"ready port={server.server_address[1]} trap={listener.getsockname()[1]}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
