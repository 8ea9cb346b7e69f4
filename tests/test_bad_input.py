"""Every bad input to run, trace, check and list, through the real command in a subprocess:
one "Error:" sentence on stderr, the right exit code, never a traceback."""

from __future__ import annotations

import errno
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from bad_input_support import APPS, LESSON_DIRS, Place, Served, command, ipv6_loopback, unwritable, write


@dataclass(frozen=True)
class Row:
    id: str
    args: tuple[str, ...]
    code: int
    phrase: str
    env: dict[str, str] = field(default_factory=dict)
    stdin: bytes | None = None
    warns: bool | None = None  # whether stderr must warn that the app is reachable beyond this machine


T = ("trace", "--plain", "--app-dir", "{apps}")  # a bad `trace` row ends on its own: nothing gets served
# Not "leave --port out": trace's default is 8000, so leaving it out is what may have taken the busy port.
BUSY = "Port {busy} on 127.0.0.1 is already in use; pick another with --port, or --port 0 for a free one."
ROWS = [
    # run
    Row("run-unknown-lesson", ("run", "lesson01x", "--plain"), 2, "There is no lesson called 'lesson01x'. Did you mean lesson1"),
    Row("run-port-too-big", ("run", "lesson1", "--plain", "--port", "99999"), 2, "Port 99999 is not a port number"),
    Row("run-port-busy", ("run", "lesson1", "--plain", "--port", "{busy}"), 2, BUSY),
    Row("run-record-missing-folder", ("run", "lesson1", "--plain", "--record", "{tmp}/missing/l1.jsonl"), 2,
        "Cannot record to {tmp}/missing/l1.jsonl: the folder {tmp}/missing does not exist"),
    Row("run-record-a-folder", ("run", "lesson1", "--plain", "--record", "{tmp}"), 2, "Cannot record to {tmp}: it is a folder"),
    Row("run-record-under-a-file", ("run", "lesson1", "--plain", "--record", "{apps}/main.py/l1.jsonl"), 2,
        "{apps}/main.py is a file, not a folder"),
    Row("run-record-unwritable", ("run", "lesson1", "--plain", "--record", "{unwritable}"), 2,
        "Cannot record to {unwritable}: permission denied"),
    Row("run-history-zero", ("run", "lesson1", "--plain", "--history", "0"), 2, "--history must be at least 10 (it was 0)"),
    Row("run-history-negative", ("run", "lesson1", "--history", "-5"), 2, "--history must be at least 10 (it was -5)"),
    Row("run-web-with-record", ("run", "lesson1", "--web", "--record", "{tmp}/web.jsonl"), 2,
        "--port and --record do not work with --web"),
    Row("run-lesson-exits", ("run", "lesson1", "--plain"), 2,
        "lesson01_exits.py:3: importing the lesson exited (sys.exit(0)) before it defined LESSON",
        env={"LIFECYCLE_TRACER_LESSONS": "{lessons}/exits"}),
    Row("run-lesson-syntax-error", ("run", "lesson1", "--plain"), 2, "lesson01_syntax.py:2: the lesson has a syntax error",
        env={"LIFECYCLE_TRACER_LESSONS": "{lessons}/syntax"}),
    Row("run-lesson-lifespan-fails", ("run", "lesson1", "--plain"), 2,
        "The app's lifespan startup failed: RuntimeError: db down", env={"LIFECYCLE_TRACER_LESSONS": "{lessons}/lifespan"}),
    # trace
    Row("trace-port-too-big", (*T, "main:app", "--port", "99999"), 2, "Port 99999 is not a port number"),
    Row("trace-port-negative", (*T, "main:app", "--port", "-1"), 2, "Port -1 is not a port number"),
    Row("trace-port-busy", (*T, "main:app", "--port", "{busy}"), 2, BUSY),
    Row("trace-host-unresolvable", (*T, "main:app", "--host", "no-such-host.invalid"), 2,
        "The host 'no-such-host.invalid' cannot be resolved"),
    Row("trace-host-not-here", (*T, "main:app", "--host", "192.0.2.1"), 2,  # TEST-NET-1: never a local address
        "The address 192.0.2.1 is not available on this machine"),
    Row("trace-record-missing-folder", (*T, "main:app", "--record", "{tmp}/missing/t.jsonl"), 2,
        "Cannot record to {tmp}/missing/t.jsonl: the folder {tmp}/missing does not exist"),
    Row("trace-no-colon", (*T, "main"), 2, "'main' is not of the form MODULE:APP"),
    Row("trace-no-module", (*T, "nomodule:app"), 2, "There is no module 'nomodule' in {apps}"),
    Row("trace-dot-py", (*T, "main.py:app"), 2, "pass main:app, not main.py:app"),
    Row("trace-missing-attribute", (*T, "main:missing"), 2, "Module 'main' has no attribute 'missing'"),
    Row("trace-not-an-app", (*T, "notapp:app"), 2, "'notapp:app' is a int, not a FastAPI app"),
    Row("trace-import-raises", (*T, "broken:app"), 2, "RuntimeError: boom at import"),
    Row("trace-syntax-error", (*T, "syntaxerr:app"), 2, "SyntaxError"),
    Row("trace-import-exits", (*T, "exits:app"), 2, "Importing exits exited (sys.exit(3)) before it defined app"),
    Row("trace-import-interrupted", (*T, "interrupts:app"), 2,
        "Importing interrupts exited (KeyboardInterrupt) before it defined app"),
    Row("trace-app-dir-missing", ("trace", "main:app", "--plain", "--app-dir", "{tmp}/nowhere"), 2,
        "There is no folder {tmp}/nowhere"),
    Row("trace-lifespan-fails", (*T, "lifefail:app", "--port", "0"), 2,
        "The app's lifespan startup failed: RuntimeError: db down", warns=False),
    # The lifespan fails before anything listens, so nothing is exposed while these run.
    Row("trace-all-interfaces-warns", (*T, "lifefail:app", "--host", "0.0.0.0", "--port", "0"), 2,
        "The app's lifespan startup failed", warns=True),
    Row("trace-loopback-127-8-is-quiet", (*T, "lifefail:app", "--host", "127.0.0.2", "--port", "0"), 2,
        "The app's lifespan startup failed", warns=False),
    Row("trace-localhost-is-quiet", (*T, "lifefail:app", "--host", "localhost", "--port", "0"), 2,
        "The app's lifespan startup failed", warns=False),
    # view: a bad port or --follow address is said before anything listens or connects
    Row("view-port-too-big", ("view", "--plain", "--port", "99999"), 2,
        "Port 99999 is not a port number; pick one from 1 to 65535, or 0 for a free one."),
    Row("view-port-negative", ("view", "--plain", "--port", "-1"), 2, "Port -1 is not a port number"),
    Row("view-no-plain-port-too-big", ("view", "--port", "65536"), 2, "Port 65536 is not a port number"),
    Row("view-port-busy", ("view", "--plain", "--port", "{busy}"), 2, "Port {busy} on 127.0.0.1 is in use"),
    Row("view-follow-not-host-port", ("view", "--follow", "nonsense", "--token", "x"), 2,
        "--follow 'nonsense' is not HOST:PORT (for example 192.168.1.20:47802); copy the address the shared "
        "session's screen shows."),
    Row("view-follow-no-port", ("view", "--follow", "127.0.0.1:", "--token", "x"), 2,
        "--follow '127.0.0.1:' is not HOST:PORT"),
    Row("view-follow-web-not-host-port", ("view", "--web", "--follow", "nonsense", "--token", "x"), 2,
        "--follow 'nonsense' is not HOST:PORT"),
    Row("view-follow-port-out-of-range", ("view", "--plain", "--follow", "127.0.0.1:99999", "--token", "x"), 2,
        "--follow '127.0.0.1:99999' has port 99999, which is out of range 1-65535 (for example 192.168.1.20:47802)"),
    # check and list
    Row("check-missing-path", ("check", "{tmp}/nothing-here"), 2, "There is no file or folder {tmp}/nothing-here"),
    Row("check-empty-folder", ("check", "{apps}"), 2, "No lesson files (lessonNN_name.py) in {apps}"),
    Row("check-broken-lessons", ("check", "{lessons}/mixed"), 1, "2 of 3 lesson file(s) checked have problems (2 in all)"),
    Row("list-no-lessons", ("list",), 2, "LIFECYCLE_TRACER_LESSONS is set to {tmp}/nowhere, which holds no lesson files",
        env={"LIFECYCLE_TRACER_LESSONS": "{tmp}/nowhere"}),
    # the same sentences on a stdout/stderr that cannot encode ✓ ✗ ▶ · —
    Row("ascii-check", ("check", "{lessons}/mixed"), 1, "fix the lines marked ? above", env={"PYTHONIOENCODING": "ascii"}),
    Row("ascii-trace", (*T, "lifefail:app", "--port", "0"), 2, "The app's lifespan startup failed",
        env={"PYTHONIOENCODING": "ascii"}),
]


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Place]:
    tmp = tmp_path_factory.mktemp("bad-input")
    write(tmp / "apps", APPS)
    for name, files in LESSON_DIRS.items():
        write(tmp / "lessons" / name, files)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        yield Place(tmp, tmp / "apps", tmp / "lessons", busy.getsockname()[1], unwritable(tmp), tmp / "home")
    (tmp / "read-only").chmod(0o700)


@pytest.fixture(scope="module")
def results(place: Place, request: pytest.FixtureRequest) -> dict[str, subprocess.CompletedProcess[str]]:
    """The selected rows, run four at a time: each is a separate interpreter that imports FastAPI,
    and one after another they would take over a minute."""
    wanted = {item.callspec.params["row"].id for item in request.session.items
              if item.originalname == "test_bad_input_is_one_sentence" and hasattr(item, "callspec")}
    rows = [row for row in ROWS if row.id in wanted]
    with ThreadPoolExecutor(max_workers=4) as pool:
        done = pool.map(lambda row: command(place, row.args, row.env, row.stdin), rows)
        return {row.id: result for row, result in zip(rows, done, strict=True)}


def assert_one_sentence(result: subprocess.CompletedProcess[str], code: int, phrase: str) -> None:
    shown = f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    assert "Traceback" not in result.stdout + result.stderr, shown
    assert result.returncode == code, shown
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, shown
    assert phrase in errors[0], shown


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_bad_input_is_one_sentence(row: Row, place: Place, results: dict[str, subprocess.CompletedProcess[str]]) -> None:
    result = results[row.id]
    assert_one_sentence(result, row.code, place.fill(row.phrase))
    if row.warns is not None:
        host = row.args[row.args.index("--host") + 1] if "--host" in row.args else "127.0.0.1"
        warning = f"Warning: binding {host} exposes the app beyond this machine"
        assert (warning in result.stderr) is row.warns, result.stderr


def test_check_gives_each_file_one_verdict(place: Place, results: dict[str, subprocess.CompletedProcess[str]]) -> None:
    """A lesson that exits at import no longer ends `check` with exit 0, and a file with a problem
    gets ✗ lines only, never also "✓ every check holds"."""
    result = results.get("check-broken-lessons") or command(place, ("check", "{lessons}/mixed"))
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines if line.startswith("✗")] == [
        f"✗ {place.lessons}/mixed/lesson01_exits.py", f"✗ {place.lessons}/mixed/lesson02_unchecked.py"], result.stdout
    assert [line for line in lines if line.startswith("✓")] == [
        f"✓ {place.lessons}/mixed/lesson03_good.py: lesson3, 1 steps, every check holds"], result.stdout


def test_privileged_port_is_a_clear_error(place: Place) -> None:
    start = int(Path("/proc/sys/net/ipv4/ip_unprivileged_port_start").read_text())
    if start <= 1:
        pytest.skip("this kernel lets anyone bind any port")
    args: list[str] = ["run", "lesson1", "--plain", "--port", "1"]
    if os.geteuid() == 0:  # root may bind low ports: take that right away, as an ordinary user lacks it
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to drop root's right to bind low ports"
        result = subprocess.run([setpriv, "--bounding-set", "-net_bind_service", sys.executable, "-m",
                                 "lifecycle_tracer", *args], capture_output=True, timeout=60, text=True,
                                env=place.env({}), stdin=subprocess.DEVNULL)
    else:
        result = command(place, args)
    assert_one_sentence(result, 2, "Permission denied to serve on 127.0.0.1:1: ports below 1024 need administrator rights")


@pytest.mark.parametrize("args", [("list",), ("run", "lesson1", "--plain")], ids=["list", "run-lesson1"])
def test_output_survives_an_ascii_terminal(place: Place, args: tuple[str, ...]) -> None:
    result = command(place, args, {"PYTHONIOENCODING": "ascii"})
    assert result.returncode == 0 and "Traceback" not in result.stdout + result.stderr, result.stderr
    assert ("Lessons" if args == ("list",) else "Every check of the lesson's steps passed.") in result.stdout
    assert "?" in result.stdout  # the symbols were replaced, not dropped with the rest of the output


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_port_zero_prints_the_real_port(place: Place, host: str) -> None:
    if host == "::1" and not ipv6_loopback():
        result = command(place, (*T, "main:app", "--host", "::1", "--port", "0"))
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert "not available on this machine" in result.stderr or "does not support its address family" in result.stderr
        return
    served = Served(place, *T, "main:app", "--host", host, "--port", "0")
    try:
        url = served.url()
        shown = "[::1]" if host == "::1" else host
        found = re.fullmatch(rf"http://{re.escape(shown)}:(\d+)", url)
        assert found and int(found.group(1)) != 0, url
        assert httpx.get(url + "/ping", timeout=10).json() == "pong"
    finally:
        served.stop()


def test_busy_default_port_advises_what_frees_it(place: Place) -> None:
    """trace serves on 8000 unless told: with 8000 taken the sentence names --port 0, and --port 0 serves."""
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a port in TIME_WAIT is not one in use
    try:
        holder.bind(("127.0.0.1", 8000))
        holder.listen()
    except OSError as exc:  # something else listens there: it is just as busy
        assert exc.errno == errno.EADDRINUSE, exc
    try:
        result = command(place, ("trace", "main:app", "--plain", "--app-dir", "{apps}"))
        assert_one_sentence(result, 2, BUSY.replace("{busy}", "8000"))
        served = Served(place, *T, "main:app", "--port", "0")
        try:
            assert httpx.get(served.url() + "/ping", timeout=10).json() == "pong"
        finally:
            served.stop()
    finally:
        holder.close()


@pytest.mark.parametrize(("text", "said"), [
    ("127.0.0.1:99999", "LIFECYCLE_TRACER_VIEWER='127.0.0.1:99999' has port 99999, which is out of range 1-65535 "
                        "(for example 127.0.0.1:47801)"),
    ("127.0.0.1:0", "LIFECYCLE_TRACER_VIEWER='127.0.0.1:0' has port 0, which is out of range 1-65535"),
    ("nonsense", "LIFECYCLE_TRACER_VIEWER='nonsense' is not HOST:PORT (for example 127.0.0.1:47801)"),
    ("127.0.0.1:²", "LIFECYCLE_TRACER_VIEWER='127.0.0.1:²' is not HOST:PORT"),  # a digit int() refuses
])
def test_viewer_variable_is_named_with_what_is_wrong(monkeypatch: pytest.MonkeyPatch, text: str, said: str) -> None:
    from lifecycle_tracer import LiveSink

    monkeypatch.setenv("LIFECYCLE_TRACER_VIEWER", text)
    with pytest.raises(ValueError) as caught:
        LiveSink()
    assert str(caught.value).startswith(said), caught.value


def test_viewer_address_takes_a_bracketed_ipv6_host(monkeypatch: pytest.MonkeyPatch) -> None:
    from lifecycle_tracer.sinks.live import viewer_address

    monkeypatch.setenv("LIFECYCLE_TRACER_VIEWER", "[::1]:47809")
    assert viewer_address() == ("::1", 47809)
    assert viewer_address("example.org:1") == ("example.org", 1)
