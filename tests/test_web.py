"""``--web``: the guarded textual-serve server refuses what is not its own page, and caps its sessions.

The guard tests run the real ``GuardedServer`` app (aiohttp, on a free
loopback port, in a thread) with a stand-in app process that speaks
textual-serve's protocol, so that a session costs milliseconds; the last
test runs the real ``run lesson1 --web`` command. Every wait is on a
condition with a generous deadline.
"""

from __future__ import annotations

import asyncio
import gc
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from asyncio.base_subprocess import BaseSubprocessTransport
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from typer.testing import CliRunner

from lifecycle_tracer.cli.app import app
from lifecycle_tracer.server import free_port
from lifecycle_tracer.tui.web import GuardedServer, exposure_warning

WAIT = 60.0  # seconds; only ever reached when something is broken
MARK = "lifecycle-tracer-test-web-app"

# A stand-in for the TUI: announces itself like Textual's web driver, writes one screenful, then
# waits for textual-serve's "quit" (or the end of its input).
FAKE_APP = f"""
import sys
out = sys.stdout.buffer
out.write(b"__GANGLION__\\n")
payload = b"hello from the app"
out.write(b"D" + len(payload).to_bytes(4, "big") + payload)
out.flush()
while (data := sys.stdin.buffer.read1(4096)) and b'"quit"' not in data:
    pass
# {MARK}
"""


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def children(marker: str, parent: int, *, zombies: bool = False) -> list[int]:
    """Children of ``parent`` whose command line holds ``marker``; ended ones not yet reaped only if ``zombies``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if marker in cmdline and int(ppid) == parent and (zombies or state != "Z"):
            found.append(int(entry.name))
    return found


class Served:
    """A ``GuardedServer``'s real aiohttp app, served on its own event loop in a thread."""

    def __init__(self, max_sessions: int) -> None:
        self.port = free_port()
        command = "exec " + shlex.join([sys.executable, "-c", FAKE_APP])
        self.server = GuardedServer(command, port=self.port, max_sessions=max_sessions)
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.runner = web.AppRunner(self.loop.run_until_complete(self.server._make_app()))
        self.loop.run_until_complete(self.runner.setup())
        self.loop.run_until_complete(web.TCPSite(self.runner, "127.0.0.1", self.port).start())
        self._ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.runner.cleanup())  # closes open sockets: their apps are told to quit
        self.loop.close()

    def __enter__(self) -> Served:
        self._thread.start()
        assert self._ready.wait(WAIT)
        return self

    def __exit__(self, *exc: object) -> None:
        wait_until(lambda: self.server.sessions == 0 and not children(MARK, os.getpid(), zombies=True),
                   "the app processes to end")
        # textual-serve never waits for its processes; asyncio closes their pipes once it notices the exit,
        # and the loop must still run for that or their transports are reported unclosed.
        wait_until(lambda: all(t.is_closing() for t in gc.get_objects() if isinstance(t, BaseSubprocessTransport)),
                   "asyncio to close the app processes' pipes")
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(WAIT)

    def apps(self) -> list[int]:
        return children(MARK, os.getpid())

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws?width=80&height=24"


@pytest.fixture
def served() -> Iterator[Served]:
    with Served(max_sessions=1) as s:
        yield s


def browser() -> aiohttp.ClientSession:
    # unsafe: aiohttp keeps no cookies for IP addresses otherwise; a browser keeps them for 127.0.0.1.
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def load_page(session: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with session.get(url, allow_redirects=False) as response:
        return response.status, await response.text()


async def refused_socket(session: aiohttp.ClientSession, url: str, **kw: Any) -> int:
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        async with session.ws_connect(url, **kw):
            pass
    return info.value.status


def test_the_page_needs_the_token_and_sets_it_as_a_strict_cookie(served: Served) -> None:
    async def main() -> None:
        async with browser() as session:
            status, body = await load_page(session, served.origin + "/")
            assert status == 403 and "token" in body and body.count(".") == 1
            status, _ = await load_page(session, served.origin + "/?token=" + served.server.token[:-1] + "x")
            assert status == 403
            assert (await load_page(session, served.origin + "/static/js/textual.js"))[0] == 403
            async with session.get(served.server.url) as response:
                assert response.status == 200
                body, cookie = await response.text(), response.headers["Set-Cookie"]
            assert f'data-session-websocket-url="ws://127.0.0.1:{served.port}/ws"' in body
            # Keys reach the TUI only from the terminal's text box: the page puts the focus there itself.
            assert body.count('data-lifecycle-tracer="focus"') == 1 and body.index("focus") < body.index("</body>")
            assert cookie.startswith(f"lifecycle_tracer_{served.port}={served.server.token};")
            assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
            # From then on the page's own requests carry the cookie instead of the token.
            assert (await load_page(session, served.origin + "/static/js/textual.js"))[0] == 200

    asyncio.run(main())


def test_a_foreign_host_is_refused_even_with_the_token(served: Served) -> None:
    async def main() -> None:
        async with browser() as session:
            async with session.get(served.server.url, headers={"Host": f"evil.example:{served.port}"}) as response:
                assert response.status == 403 and "only answers to" in await response.text()
            await load_page(session, served.server.url)  # the cookie is no way round it either
            status = await refused_socket(session, served.ws_url, origin=served.origin,
                                          headers={"Host": "evil.example"})
            assert status == 403

    asyncio.run(main())
    assert served.apps() == []


def test_localhost_is_sent_to_the_address_the_socket_uses(served: Served) -> None:
    async def main() -> None:
        async with browser() as session, session.get(
                served.server.url.replace("127.0.0.1", "localhost"), allow_redirects=False) as response:
            assert response.status == 302 and response.headers["Location"] == served.server.url

    asyncio.run(main())


def test_a_socket_from_a_foreign_page_or_without_the_cookie_starts_nothing(served: Served) -> None:
    async def main() -> None:
        async with browser() as session:
            # Without the cookie (the page never loaded with the token), even from the right origin.
            assert await refused_socket(session, served.ws_url, origin=served.origin) == 403
            await load_page(session, served.server.url)
            # A page elsewhere: the browser sends the user's cookie along but names the page's origin.
            assert await refused_socket(session, served.ws_url, origin="http://evil.example") == 403
            assert await refused_socket(session, served.ws_url, origin=f"http://evil.example:{served.port}") == 403
            assert await refused_socket(session, served.ws_url) == 403  # no Origin at all: not a page of ours

    asyncio.run(main())
    assert served.apps() == [] and served.server.sessions == 0


def test_the_own_page_gets_a_session_and_the_app_speaks(served: Served) -> None:
    async def main() -> None:
        async with browser() as session:
            await load_page(session, served.server.url)
            async with session.ws_connect(served.ws_url, origin=served.origin) as ws:
                message = await ws.receive(timeout=WAIT)
                assert message.type is aiohttp.WSMsgType.BINARY and message.data == b"hello from the app"
                assert len(served.apps()) == 1 and served.server.sessions == 1

    asyncio.run(main())
    wait_until(lambda: served.server.sessions == 0 and not served.apps(), "the session to end with its socket")


def test_the_session_past_the_cap_is_turned_away_without_a_process(served: Served) -> None:
    async def main() -> None:
        async with browser() as session:
            await load_page(session, served.server.url)
            async with session.ws_connect(served.ws_url, origin=served.origin) as first:
                assert (await first.receive(timeout=WAIT)).data == b"hello from the app"
                async with session.ws_connect(served.ws_url, origin=served.origin) as extra:
                    message = await extra.receive(timeout=WAIT)
                    text = message.data.decode()
                    assert "(1, set with --web-sessions) are already open" in text and "reload" in text
                    assert len(served.apps()) == 1 and served.server.sessions == 1
            # The cap counts sessions at once, not in all: the first one's end frees its place.
            wait_until(lambda: served.server.sessions == 0, "the first session to end")
            async with session.ws_connect(served.ws_url, origin=served.origin) as again:
                assert (await again.receive(timeout=WAIT)).data == b"hello from the app"

    asyncio.run(main())


def test_serving_beyond_loopback_is_warned_about() -> None:
    assert exposure_warning("127.0.0.1") is None and exposure_warning("localhost") is None
    assert exposure_warning("::1") is None and exposure_warning("example.org") is not None
    warning = exposure_warning("0.0.0.0")
    assert warning is not None and "0.0.0.0" in warning and "other machines" in warning


def test_a_server_needs_room_for_one_session() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        GuardedServer("exec true", port=free_port(), max_sessions=0)
    result = CliRunner().invoke(app, ["run", "lesson1", "--web", "--web-sessions", "0"])
    assert result.exit_code == 2 and "--web-sessions" in result.output and "Traceback" not in result.output


def test_run_web_prints_a_tokened_url_and_caps_the_real_lessons(tmp_path: Path) -> None:
    env = {**os.environ, "LIFECYCLE_TRACER_HOME": str(tmp_path / "home"), "COLUMNS": "200"}
    command = [sys.executable, "-m", "lifecycle_tracer", "run", "lesson1", "--web", "--web-sessions", "1"]
    lesson = "lifecycle_tracer run lesson1 --history"  # the command line of each tab's own process
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            later: list[str] = []  # read on, so that the server never blocks on a full pipe
            reader = threading.Thread(target=lambda: later.extend(proc.stdout or ()), daemon=True)
            reader.start()
            match = re.search(r"(http://127\.0\.0\.1:(\d+))/\?token=([\w-]{40,})", line)
            assert match, line
            origin, port = match[1], int(match[2])
            ws_url = f"ws://127.0.0.1:{port}/ws?width=100&height=30"

            async def main() -> None:
                async with browser() as session:
                    deadline = time.monotonic() + WAIT
                    while True:  # the line is printed as the server starts; it listens a moment later
                        try:
                            status, _ = await load_page(session, origin + "/")
                            break
                        except aiohttp.ClientConnectionError:
                            assert time.monotonic() < deadline
                            await asyncio.sleep(0.05)
                    assert status == 403
                    assert (await load_page(session, match[0]))[0] == 200
                    async with session.ws_connect(ws_url, origin=origin) as ws:
                        message = await ws.receive(timeout=WAIT)  # the lesson's TUI has started and drawn
                        assert message.type in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT)
                        assert len(children(lesson, proc.pid)) == 1
                        async with session.ws_connect(ws_url, origin=origin) as extra:
                            assert "are already open" in (await extra.receive(timeout=WAIT)).data.decode()
                            assert len(children(lesson, proc.pid)) == 1

            asyncio.run(main())
            wait_until(lambda: not children(lesson, proc.pid), "the lesson's process to end with its tab")
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(WAIT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        reader.join(WAIT)
    assert proc.returncode == 0
    assert "turned a browser session away" in "".join(later)
