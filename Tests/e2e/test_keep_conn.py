"""Connections nginx keeps open to the worker (fastcgi_keep_conn): several requests on one
connection, idle ones that hold no thread, and a refused body that closes its connection
instead of leaking into the next request. Spoken to the worker's socket directly, as nginx
speaks FastCGI, since nginx hides which connection it uses."""

import socket
import struct
import time

import requests

from stack import Stack, free_port

BEGIN_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT = 1, 3, 4, 5, 6


def record(kind, request_id, content=b""):
    return struct.pack(">BBHHBB", 1, kind, request_id, len(content), 0, 0) + content


def pairs(params):
    out = b""
    for name, value in params.items():
        name, value = name.encode(), value.encode()
        for length in (len(name), len(value)):
            out += bytes([length]) if length < 128 else struct.pack(">I", length | 0x80000000)
        out += name + value
    return out


def send_request(conn, path, method="GET", body=b"", request_id=1, keep=True):
    params = {"REQUEST_METHOD": method, "DOCUMENT_URI": path, "REQUEST_URI": path, "QUERY_STRING": "",
              "REMOTE_ADDR": "127.0.0.1", "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "application/json"}
    message = record(BEGIN_REQUEST, request_id, struct.pack(">HB5x", 1, 1 if keep else 0))
    message += record(PARAMS, request_id, pairs(params)) + record(PARAMS, request_id)
    for start in range(0, len(body), 65535):
        message += record(STDIN, request_id, body[start:start + 65535])
    message += record(STDIN, request_id)
    conn.sendall(message)


def read_exactly(conn, count):
    data = b""
    while len(data) < count:
        chunk = conn.recv(count - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def read_response(conn):
    """The response's head and body, up to END_REQUEST."""
    out = b""
    while True:
        _, kind, _, length, padding, _ = struct.unpack(">BBHHBB", read_exactly(conn, 8))
        content = read_exactly(conn, length + padding)[:length]
        if kind == STDOUT:
            out += content
        if kind == END_REQUEST:
            return out.decode("utf-8", "replace")


def closed_by_peer(conn, within):
    conn.settimeout(within)
    try:
        return conn.recv(1) == b""
    except socket.timeout:
        return False


def connect(stack):
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(str(stack.socket))
    return conn


def test_kept_connections_serve_many_requests_and_hold_no_thread_while_idle(stack):
    conn = connect(stack)
    for request_id in (1, 2, 3):
        send_request(conn, "/login", request_id=request_id)
        assert read_response(conn).startswith("Status: 200"), "kept connection answered every request"

    # Twice as many idle kept connections as threads (VOXFCGI_THREADS=4 in tests): an idle
    # connection waits in epoll, not on a thread, so a request through nginx is answered at
    # once, and so is the next request on every idle one.
    idle = [connect(stack) for _ in range(8)]
    for each in idle:
        send_request(each, "/login")
        assert read_response(each).startswith("Status: 200")
    started = time.monotonic()
    assert requests.get(stack.base_url + "/login", timeout=10).status_code == 200
    assert time.monotonic() - started < 1
    for each in idle + [conn]:
        send_request(each, "/login", request_id=2)
        assert read_response(each).startswith("Status: 200")
        each.close()


def test_a_refused_body_closes_its_kept_connection(stack):
    conn = connect(stack)
    send_request(conn, "/api/webhook/voximplant", method="POST", body=b"x" * (200 * 1024))
    assert read_response(conn).startswith("Status: 413")
    # Its unread body must not be taken for a next request: the connection is closed (a kept
    # one would stay open).
    assert closed_by_peer(conn, within=5)
    conn.close()
    # And the worker goes on serving.
    conn = connect(stack)
    send_request(conn, "/login")
    assert read_response(conn).startswith("Status: 200")
    conn.close()


def test_fastcgi_over_tcp_too(tmp_path):
    # VOXFCGI_TCP adds a TCP listener beside the unix socket, served the same way.
    port = free_port()
    stack = Stack(tmp_path, VOXFCGI_TCP=f"127.0.0.1:{port}")
    stack.start()
    try:
        conn = socket.create_connection(("127.0.0.1", port))
        for request_id in (1, 2):
            send_request(conn, "/login", request_id=request_id)
            assert read_response(conn).startswith("Status: 200")
        conn.close()
    finally:
        stack.stop()
