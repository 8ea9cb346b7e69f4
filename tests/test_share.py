"""--share and view --follow: attendees see the instructor's requests, whole, read-only."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from lifecycle_tracer.broadcast import BroadcastSink, follow_command
from lifecycle_tracer.events import TraceEvent
from lifecycle_tracer.server import free_port
from lifecycle_tracer.viewer import Viewer, ViewerError

pytestmark = pytest.mark.anyio


def until(predicate: Callable[[], bool], what: str) -> None:
    for _ in range(2000):
        if predicate():
            return
        time.sleep(0.01)  # polling a condition, not waiting out a race
    raise AssertionError(f"timed out waiting for {what}")


def request(rid: str, n: int = 3) -> list[TraceEvent]:
    events = [TraceEvent(rid, 0, "request", "start", "GET /x", 1, {"type": "http", "method": "GET", "path": "/x"})]
    events += [TraceEvent(rid, i, "routing", "point", "/x", 1 + i, {"matched": True}) for i in range(1, n - 1)]
    events.append(TraceEvent(rid, n - 1, "request", "end", "request", n, {"type": "http", "status_code": 200}))
    return events


def test_a_follower_gets_whole_requests_with_the_sessions_own_ids_and_a_wrong_token_is_refused() -> None:
    share = BroadcastSink(port=0, name="lesson1")
    got: list[TraceEvent] = []
    notes: list[str] = []
    follower = Viewer(got.append, notes.append)
    try:
        first = request("r1")
        share.emit(first[0])  # begun before anyone followed: never sent, not even its end
        follower.follow(f"127.0.0.1:{share.port}", share.token)
        until(lambda: share.followers == 1, "the follower to join")
        for ev in first[1:] + request("r2") + request("r3", 5):
            share.emit(ev)
        until(lambda: sum(1 for e in got if e.stage == "request" and e.kind == "end") == 2, "two whole requests")
        assert sorted({e.request_id for e in got}) == ["r2", "r3"]  # the instructor's own ids
        assert [e.seq for e in got if e.request_id == "r3"] == [0, 1, 2, 3, 4]
        assert any("read-only" in n for n in notes)
        assert f"--token {share.token}" in follow_command(share) and f":{share.port}" in follow_command(share)

        with pytest.raises(ViewerError, match="refused to be followed .a wrong token."):
            Viewer(got.append, notes.append).follow(f"127.0.0.1:{share.port}", "not-the-token")
        with pytest.raises(ViewerError, match="Cannot reach the shared session"):
            Viewer(got.append, notes.append).follow(f"127.0.0.1:{free_port()}", share.token)
    finally:
        follower.stop()
        share.close()


def test_a_follower_that_never_reads_costs_the_session_nothing() -> None:
    import socket

    from lifecycle_tracer.broadcast import follower_hello

    share = BroadcastSink(port=0)
    stalled = socket.create_connection(("127.0.0.1", share.port))
    try:
        stalled.sendall(follower_hello(share.token))
        until(lambda: share.followers == 1, "the stalled follower to join")
        blob = {"type": "http", "blob": "x" * 50_000}
        for n in range(12_000):  # 600 MB offered (one shared blob) to a follower that reads nothing
            share.emit(TraceEvent(f"r{n}", 0, "request", "start", "GET /", 0, blob))
            share.emit(TraceEvent(f"r{n}", 1, "request", "end", "GET /", 1, {"type": "http"}))
        follower = share._followers[0]
        assert len(follower.whole.queue) <= follower.whole.max_queue + 2 and follower.whole.dropped > 0
    finally:
        stalled.close()
        share.close()


async def test_an_instructors_tui_shares_its_lesson_and_an_attendee_follows_it() -> None:
    from test_tui import fire, lesson_app, running, status_bar

    share = BroadcastSink(port=0, name="lesson1")
    app = lesson_app()
    app.share = share
    got: list[TraceEvent] = []
    follower = Viewer(got.append, lambda _: None)
    try:
        async with running(app) as pilot:
            follower.follow(f"127.0.0.1:{share.port}", share.token)
            until(lambda: share.followers == 1, "the attendee to join")
            await fire(pilot)
            rid = app.selected
            assert f"--token {share.token}" in status_bar(app)  # the whole command, even where the title is cut
            until(lambda: any(e.request_id == rid and e.stage == "request" and e.kind == "end" for e in got),
                  "the instructor's request at the attendee")
            mine = [e.to_dict() for e in app.store.get(rid).events]  # type: ignore[union-attr]
            theirs = [e.to_dict() for e in got if e.request_id == rid]
            assert theirs == mine  # the same request, event for event
            await pilot.press("q")
    finally:
        follower.stop()
        share.close()


def test_view_follow_needs_a_token_and_says_so() -> None:
    for args, words in ((["view", "--follow", "127.0.0.1:9"], "--follow needs the session's --token"),
                        (["view", "--follow", f"127.0.0.1:{free_port()}", "--token", "t", "--plain"],
                         "Cannot reach the shared session"),
                        (["view", "--web"], "--web serves a follower"),
                        (["run", "lesson1", "--share", "--plain"], "--share shares the TUI's session")):
        done = subprocess.run([sys.executable, "-m", "lifecycle_tracer", *args], capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 2 and words in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr


def test_hostile_hellos_get_a_refusal_never_a_traceback() -> None:
    import socket

    share = BroadcastSink(port=0)
    notes: list[str] = []
    viewer = Viewer(lambda _: None, notes.append, port=0, token="s3cret")
    viewer.start()
    try:
        deep = b"[" * 3000 + b"]" * 3000 + b"\n"
        for port, data in ((share.port, deep), (share.port, b'{"lifecycle_tracer":2,"follow":true,"token":"\xc3\xa9"}\n'),
                           (viewer.port, deep), (viewer.port, b'{"lifecycle_tracer":2,"pid":1,"token":"\xc3\xa9"}\n')):
            with socket.create_connection(("127.0.0.1", port)) as conn:
                conn.sendall(data)
                conn.shutdown(socket.SHUT_WR)
                reply = conn.recv(200)  # the other side answers or closes: it does not crash
            if port == share.port and b"token" in data:
                assert b"refused" in reply
        until(lambda: len(notes) >= 2, "the viewer's two refusals")
        assert "not a lifecycle-tracer LiveSink" in notes[0] and "wrong one; refused" in notes[1]
        # A hostile "session" for a follower: nested reply, one sentence.
        port, close = fake_session(deep)
        with pytest.raises(ViewerError, match="refused to be followed"):
            Viewer(lambda _: None, notes.append).follow(f"127.0.0.1:{port}", "t")
        close()
        assert share.followers == 0
    finally:
        viewer.stop()
        share.close()


def fake_session(reply: bytes) -> tuple[int, Callable[[], None]]:
    """A listener posing as a shared session: it answers a follower's hello with ``reply``, then hangs up."""
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))

    def answer() -> None:
        conn, _ = listener.accept()
        conn.recv(4096)
        conn.sendall(reply)
        conn.close()

    threading.Thread(target=answer, daemon=True).start()
    return listener.getsockname()[1], listener.close


def test_a_sessions_refusal_reaches_the_followers_terminal_only_as_escapes() -> None:
    import json

    hostile = "\x1b]0;OWNED\x07\x1b[2J\x1b]52;c;ZWNobyBwd25lZA==\x07[bold]x[/bold]"
    port, close = fake_session(json.dumps({"refused": hostile}).encode() + b"\n")
    try:
        done = subprocess.run([sys.executable, "-m", "lifecycle_tracer", "view", "--follow", f"127.0.0.1:{port}",
                               "--token", "t", "--plain"], capture_output=True, text=True, timeout=60)
    finally:
        close()
    assert done.returncode == 2 and "refused to be followed" in done.stderr, done.stderr
    assert "\x1b" not in done.stderr and "\x07" not in done.stderr and "\\x1b]0;OWNED" in done.stderr, done.stderr
    assert "[bold]x[/bold]" in done.stderr  # markup as text


def test_view_follow_plain_stops_when_the_session_ends() -> None:
    from lifecycle_tracer.sinks.live import PROTOCOL, encode_line

    port, close = fake_session(encode_line({"lifecycle_tracer": PROTOCOL, "pid": 1, "name": "lesson1"}))
    try:
        done = subprocess.run([sys.executable, "-m", "lifecycle_tracer", "view", "--follow", f"127.0.0.1:{port}",
                               "--token", "t", "--plain"], capture_output=True, text=True, timeout=60)
    finally:
        close()
    assert done.returncode == 0 and "ended (or the network dropped it)" in done.stdout + done.stderr, done


def test_an_app_that_stops_reading_step_commands_cannot_freeze_the_viewer() -> None:
    import socket
    import threading

    from lifecycle_tracer.sinks.live import PROTOCOL, encode_line

    notes: list[str] = []
    viewer = Viewer(lambda _: None, notes.append, port=0)
    viewer.start()
    peer = socket.create_connection(("127.0.0.1", viewer.port))
    try:
        peer.sendall(encode_line({"lifecycle_tracer": PROTOCOL, "pid": 4242, "name": "never reads", "steps": True}))
        until(lambda: viewer._steppable, "the peer to offer step mode")
        done = threading.Event()

        def flood() -> None:  # far more than a socket's buffers hold; the peer reads none of it
            for _ in range(20000):
                viewer.command({"step": True, "padding": "x" * 500})
            done.set()

        threading.Thread(target=flood, daemon=True).start()
        until(done.is_set, "the commands to return although the peer reads nothing")
        until(lambda: any("stopped reading step-mode commands" in n for n in notes), "the note saying so")
        assert not viewer._steppable
    finally:
        peer.close()
        viewer.stop()


def test_sharing_beyond_this_machine_stays_said_in_the_title(capsys: pytest.CaptureFixture[str]) -> None:
    from types import SimpleNamespace

    from lifecycle_tracer.cli.share import share_session

    for host, secrets, said in (("127.0.0.1", True, None), ("0.0.0.0", False, "shared beyond this machine on 0.0.0.0"),
                                ("0.0.0.0", True, "shared beyond this machine on 0.0.0.0, secrets shown")):
        controller = SimpleNamespace(title="lifecycle-tracer: lesson1")
        share = share_session(f"{host}:{free_port()}", controller, secrets)
        try:
            err = capsys.readouterr().err
            if said is None:
                assert controller.title == "lifecycle-tracer: lesson1" and "Warning" not in err
            else:
                assert controller.title.endswith(said), controller.title
                assert f"Warning: sharing on {host}" in err and ("and its secrets" in err) is secrets, err
        finally:
            share.close()


def test_view_web_with_a_wrong_token_says_so_before_serving_any_browser() -> None:
    share = BroadcastSink(port=0, name="lesson1")
    try:
        done = subprocess.run([sys.executable, "-m", "lifecycle_tracer", "view", "--follow", f"127.0.0.1:{share.port}",
                               "--token", "not-the-token", "--web"], capture_output=True, text=True, timeout=60)
    finally:
        share.close()
    assert done.returncode == 2 and "refused to be followed (a wrong token" in done.stderr, done.stderr
    assert "http://" not in done.stdout  # no page was served


def test_a_follower_that_leaves_while_nothing_happens_is_no_longer_counted() -> None:
    share = BroadcastSink(port=0, name="lesson1")
    follower = Viewer(lambda _: None, lambda _: None)
    try:
        follower.follow(f"127.0.0.1:{share.port}", share.token)
        until(lambda: share.followers == 1, "the follower to join")
        follower.stop()  # no event is emitted after this: only the idle check can notice
        until(lambda: share.followers == 0, "the session to see the follower gone")
    finally:
        follower.stop()
        share.close()


def test_a_follower_can_take_the_token_from_the_environment_rather_than_argv() -> None:
    import os

    share = BroadcastSink(port=0, name="lesson1")
    try:
        for token, words in (("not-the-token", "refused to be followed (a wrong token"), (share.token, "ended")):
            env = {**os.environ, "LIFECYCLE_TRACER_TOKEN": token}
            proc = subprocess.Popen([sys.executable, "-m", "lifecycle_tracer", "view", "--follow",
                                     f"127.0.0.1:{share.port}", "--plain"], env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
            if token == share.token:
                until(lambda: share.followers == 1, "the follower to join with the token from the environment")
                share.close()  # the session ends: the follower says so and stops
            out, err = proc.communicate(timeout=60)
            assert words in out + err, (out, err)
    finally:
        share.close()
