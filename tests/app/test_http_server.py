"""The HTTP server's own life cycle (bot/serve.py `HttpServer`), on a real waitress socket."""

from __future__ import annotations

import urllib.request

from bot.serve import HttpServer


def _hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


def test_stop_after_the_server_has_closed_is_harmless():
    # `stop` used to pull waitress's trigger pipe after the server thread had closed it: EBADF
    # out of `stop`, which on a failed start-up replaced the error being reported (seen as a
    # flaky test when the poll's own timeout ended the loop first). A second `stop` hits it always.
    server = HttpServer(_hello, host="127.0.0.1", port=0)
    server.start()
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/", timeout=5) as reply:
        assert reply.read() == b"hello"
    server.stop()
    server.stop()
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{server.port}/", timeout=2)
    except OSError:
        pass
    else:
        raise AssertionError("the server still answers after stop")
