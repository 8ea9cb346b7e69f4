"""Request specs shared by the corpus apps and the transparency tests.

A corpus module exposes ``make_app() -> FastAPI`` and ``REQUESTS``, a list of
``Req`` (HTTP) and ``WS`` (WebSocket) specs. Every spec is sent, unchanged, to
an untraced and a traced copy of the app; the answers must be identical.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

# Fixed boundary so the two copies of a multipart request are byte-identical.
BOUNDARY = "corpus-boundary-7d1f3c"
# A fixed mtime for files the apps create, so Last-Modified and ETag agree
# between the traced and the untraced copy.
FIXED_MTIME = 1_700_000_000


def pin_mtime(path: str | os.PathLike[str]) -> None:
    os.utime(path, (FIXED_MTIME, FIXED_MTIME))


@dataclass(frozen=True)
class Req:
    """One HTTP request, plus optional follow-ups sent to the same app after it."""

    id: str
    method: str = "GET"
    path: str = "/"
    params: dict[str, Any] | None = None
    headers: tuple[tuple[str, str], ...] = ()
    json: Any = None
    content: bytes | None = None
    chunked: bool = False  # send ``content`` in 512-byte chunks, without Content-Length
    data: dict[str, Any] | None = None  # form fields
    files: Any = None  # multipart files, as httpx takes them (the boundary is fixed)
    # What the *untraced* app does, checked so the corpus provably hits the
    # feature it claims to: the status of the answer (with
    # raise_app_exceptions=False when an exception escapes: 500, or the status
    # already sent), and the type of the exception that escapes the app
    # in-process with raise_app_exceptions=True.
    expect_status: int | None = None
    expect_raises: str | None = None
    # The lifespan messages the app sends (and "raised" if the lifespan
    # raises); by default a clean startup.complete and shutdown.complete.
    expect_lifespan: tuple[str, ...] | None = None
    followups: tuple[Req, ...] = ()
    # False for a request whose answer depends on timing that only the
    # in-process transport makes deterministic (e.g. reading what a background
    # task wrote: over a real server the task may still be running).
    uvicorn: bool = True

    def all_requests(self) -> list[Req]:
        return [self, *self.followups]


# WebSocket script steps:
#   ("send_text", str) ("send_bytes", bytes) ("send_json", obj)
#   ("receive",)  -> records the next message from the app
#   ("close", code)  -> the client closes the connection
#   ("await_end",)  -> wait until the app is done with the connection before the
#                      client closes it (over a real server: receive until the
#                      server closes; in-process the session's exit shows it)
Step = tuple[Any, ...]


@dataclass(frozen=True)
class WS:
    id: str
    path: str
    script: tuple[Step, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    subprotocols: tuple[str, ...] = ()
    # "accept" (the app accepts), "close" (closes before accept),
    # "deny" (HTTP denial response), "raise" (the app raises)
    expect: str = "accept"
    uvicorn: bool = True


@dataclass
class CorpusApp:
    name: str
    module: Any
    requests: list[Req] = field(default_factory=list)
    websockets: list[WS] = field(default_factory=list)
    root_path: str = ""  # the server's root_path (a proxy prefix), if the module sets ROOT_PATH
