"""Checks on the command line's values, made before anything is served or printed.

Each raises ``BadInput`` with the one sentence the user sees.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from pathlib import Path

# What rich prints for progress, checks and the TUI's banners.
_SYMBOLS = "✓✗▶■◆•·—→⇒◀─"


class BadInput(ValueError):
    pass


def survive_any_encoding() -> None:
    """Let a stdout that cannot encode our symbols (PYTHONIOENCODING=ascii, a latin-1 pipe) print ``?``
    for them instead of raising UnicodeEncodeError halfway through the output."""
    for stream in (sys.stdout, sys.stderr):
        encoding = getattr(stream, "encoding", None) or "utf-8"
        try:
            _SYMBOLS.encode(encoding)
        except (UnicodeEncodeError, LookupError):
            reconfigure = getattr(stream, "reconfigure", None)
            if reconfigure is not None:
                reconfigure(errors="replace")


def check_history(history: int) -> None:
    if history < 10:
        raise BadInput(f"--history must be at least 10 (it was {history}): it is how many requests the TUI keeps.")


def check_record(record: Path | None) -> None:
    """The recording can be written: said now, not as a traceback once the server runs."""
    if record is None:
        return
    if record.is_dir():
        raise BadInput(f"Cannot record to {record}: it is a folder; give a file name such as {record / 'trace.jsonl'}.")
    folder = record.parent
    if not folder.exists():
        raise BadInput(f"Cannot record to {record}: the folder {folder} does not exist; create it first or pick another path.")
    if not folder.is_dir():
        raise BadInput(f"Cannot record to {record}: {folder} is a file, not a folder.")
    existed = record.exists()
    try:
        record.open("a", encoding="utf-8").close()
    except PermissionError:
        raise BadInput(f"Cannot record to {record}: permission denied; pick a path you can write to.") from None
    except OSError as exc:
        raise BadInput(f"Cannot record to {record}: {exc.strerror or exc}.") from None
    if not existed:  # only probed: a failure later must not leave an empty file behind
        record.unlink(missing_ok=True)


def check_listen_port(port: int) -> None:
    """A port this process may listen on, 0 meaning a free one; only the range: the listener says if it is taken."""
    if not 0 <= port <= 65535:
        raise BadInput(f"Port {port} is not a port number; pick one from 1 to 65535, or 0 for a free one.")


def check_follow(address: str) -> None:
    """A shared session's ``HOST:PORT``, said before anything connects, or a browser child starts (``--web``)."""
    from ..sinks.live import viewer_address

    try:
        viewer_address(address, example="192.168.1.20:47802")
    except ValueError as exc:
        raise BadInput(f"--follow {exc}; copy the address the shared session's screen shows.") from None


def check_app_dir(app_dir: Path | None) -> None:
    if app_dir is None:
        return
    if not app_dir.exists():
        raise BadInput(f"There is no folder {app_dir}; give --app-dir the folder that holds your app's module.")
    if not app_dir.is_dir():
        raise BadInput(f"--app-dir {app_dir} is a file; give the folder that holds it instead.")


def is_loopback(host: str) -> bool:
    """True if every address ``host`` means is this machine's own (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return False  # unresolvable: the bind check reports it
    return bool(infos) and all(ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback for info in infos)


def exposure_warning(host: str, what: str = "app", secrets: bool = False) -> str | None:
    """What binding ``host`` exposes (``what``: the app, a viewer, a shared session), or None on loopback."""
    if is_loopback(host):
        return None
    if what == "share":
        shown = " and its secrets" if secrets else ""
        return (f"Warning: sharing on {host} shows this session's requests{shown} to any machine that can reach "
                "it with the token.")
    if what == "viewer":
        return (f"Warning: listening on {host} lets other machines reach this viewer: any app that sends the "
                "token can show its requests here. Leave out --host to stay on 127.0.0.1.")
    return (f"Warning: binding {host} exposes the app beyond this machine: anyone who can reach it can send it "
            "requests and read what it answers. Leave out --host to stay on 127.0.0.1.")
