"""Slow clients cannot hold connections: `paceboard serve` closes a connection whose request
headers take too long or whose body stalls, and leaves WebSockets and steady uploads alone.
The engine plays no part, so these run on SQLite only."""

from __future__ import annotations

import json
import socket
import time

import pytest
from websockets.sync.client import connect

from tests.conftest import SQLITE_ONLY

DEADLINE = 1.0  # seconds, for both the header and the body


@pytest.fixture
def server(live_server):
    live_server.env.update(
        PACEBOARD_HEADER_TIMEOUT_SECONDS=str(DEADLINE), PACEBOARD_BODY_TIMEOUT_SECONDS=str(DEADLINE)
    )
    return live_server.start()


def raw(server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=DEADLINE * 6)
    return sock


def closed_after(sock: socket.socket) -> float:
    """Seconds until the server closed the connection (reading whatever it sent first)."""
    t0 = time.monotonic()
    try:
        while sock.recv(4096):
            pass
    except ConnectionResetError:
        pass
    return time.monotonic() - t0


@SQLITE_ONLY
def test_a_connection_that_sends_nothing_is_closed_after_the_header_deadline(server):
    with raw(server) as sock:
        waited = closed_after(sock)
    assert DEADLINE * 0.8 <= waited < DEADLINE * 4


@SQLITE_ONLY
def test_headers_sent_a_line_at_a_time_are_cut_at_the_deadline(server):
    with raw(server) as sock:
        t0 = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        for _ in range(int(DEADLINE * 3 / 0.3)):
            time.sleep(0.3)
            try:
                sock.sendall(b"X-Slow: 1\r\n")  # each line resets nothing: the whole header counts
            except (BrokenPipeError, ConnectionResetError):
                break
        closed_after(sock)
    assert time.monotonic() - t0 < DEADLINE * 4


@SQLITE_ONLY
def test_a_body_that_stops_coming_is_cut_and_a_steady_one_is_served(server):
    token = server.cli("token", "create", "--name", "pbx", "--scope", "ingest").stdout.split()[-1]
    head = (
        b"POST /api/v1/calls HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {token}\r\n".encode()
    )
    with raw(server) as sock:
        sock.sendall(head + b"Content-Length: 100\r\n\r\n" + b"[" * 10)
        waited = closed_after(sock)
    assert DEADLINE * 0.8 <= waited < DEADLINE * 4
    # A body trickling in a byte every half deadline, for three deadlines, is not stalled: it
    # reaches the app, which answers it rather than the server hanging up.
    body = b"[" + b" " * 5 + b"]"
    with raw(server) as sock:
        sock.sendall(head + f"Content-Length: {len(body)}\r\n\r\n".encode())
        for byte in body:
            time.sleep(DEADLINE / 2)
            sock.sendall(bytes([byte]))
        answer = b""
        while b'"results":' not in answer:  # the head and the body may come in two segments
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200"), answer[:80]
    assert b'"results":[]' in answer


@SQLITE_ONLY
def test_a_socket_outlives_the_deadlines_and_keeps_receiving(server):
    token = server.cli("token", "create", "--name", "tv", "--scope", "read").stdout.split()[-1]
    with connect(f"ws://127.0.0.1:{server.port}/ws?token={token}", open_timeout=10) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "snapshot"
        time.sleep(DEADLINE * 3)
        ws.ping().wait(timeout=5)  # still open: the deadlines are for HTTP requests only
