"""The app both overhead benchmarks drive, the three requests they send, and the machine they ran on.

``build_app()`` returns a fresh FastAPI app with:

- ``GET /items/{item_id}?q=...``: an ``async def`` endpoint with a path and a
  query parameter and a response model. It needs ``current_user`` (an async
  dependency that itself needs ``get_db``) and ``get_db`` again, so the second
  use is a per-request cache hit. ``get_db`` is an async yield dependency with
  a teardown after the ``yield``.
- ``POST /items``: an ``async def`` endpoint with a Pydantic body (201).
- ``GET /users/{user_id}?verbose=...``: a plain ``def`` endpoint (run in the
  threadpool) that needs ``get_settings``, a plain ``def`` dependency (also
  run in the threadpool), and ``get_db``.

So the mix covers the async path (on the event loop) and the sync path
(threadpool hops) that FastAPI takes. ``REQUESTS`` lists the three requests
with the status and JSON body each must get back; ``machine_info()`` the lines
describing Python, the machine and the libraries that each benchmark prints.
"""

import importlib.metadata
import os
import platform
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import fastapi
from fastapi import Depends, FastAPI
from pydantic import BaseModel


class ItemIn(BaseModel):
    name: str
    price: float
    tags: list[str] = []


class ItemOut(ItemIn):
    id: int
    owner: str | None = None
    q: str | None = None


class UserOut(BaseModel):
    id: int
    name: str
    currency: str
    verbose: bool = False


def build_app(telemetry: dict[str, Any] | None = None) -> FastAPI:
    """A fresh copy of the benchmark app (``telemetry`` only on FastAPI >= 0.142)."""
    app = FastAPI(telemetry=telemetry) if telemetry is not None else FastAPI()

    async def get_db() -> AsyncIterator[dict[str, Any]]:
        session = {"open": True}
        try:
            yield session
        finally:
            session["open"] = False

    async def current_user(db: Annotated[dict[str, Any], Depends(get_db)]) -> str:
        return "alice" if db["open"] else "nobody"

    def get_settings() -> dict[str, str]:  # a plain def dependency: FastAPI runs it in the threadpool
        return {"currency": "EUR"}

    @app.get("/items/{item_id}", response_model=ItemOut)
    async def read_item(
        item_id: int,
        user: Annotated[str, Depends(current_user)],
        db: Annotated[dict[str, Any], Depends(get_db)],
        q: str | None = None,
    ) -> Any:
        return {"id": item_id, "name": "widget", "price": 9.5, "tags": ["a"], "owner": user, "q": q}

    @app.post("/items", response_model=ItemOut, status_code=201)
    async def create_item(item: ItemIn) -> Any:
        return ItemOut(id=1, **item.model_dump())

    @app.get("/users/{user_id}", response_model=UserOut)
    def read_user(  # a plain def endpoint: FastAPI runs it in the threadpool
        user_id: int,
        settings: Annotated[dict[str, str], Depends(get_settings)],
        db: Annotated[dict[str, Any], Depends(get_db)],
        verbose: bool = False,
    ) -> Any:
        return {"id": user_id, "name": "alice" if db["open"] else "nobody", "currency": settings["currency"], "verbose": verbose}

    return app


@dataclass(frozen=True)
class BenchRequest:
    """One request of the mix and the answer it must get."""

    label: str
    method: str
    path: str
    query: str
    body: bytes
    status: int
    answer: dict[str, Any]

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        headers = [(b"host", b"127.0.0.1"), (b"user-agent", b"bench"), (b"accept", b"*/*")]
        if self.body:
            headers += [(b"content-type", b"application/json"), (b"content-length", str(len(self.body)).encode())]
        return headers


POST_BODY = b'{"name": "widget", "price": 9.5, "tags": ["a", "b"]}'

REQUESTS = (
    BenchRequest(
        "GET /items/{id} (async)", "GET", "/items/42", "q=hello", b"", 200,
        {"id": 42, "name": "widget", "price": 9.5, "tags": ["a"], "owner": "alice", "q": "hello"},
    ),
    BenchRequest(
        "POST /items (async, body)", "POST", "/items", "", POST_BODY, 201,
        {"id": 1, "name": "widget", "price": 9.5, "tags": ["a", "b"], "owner": None, "q": None},
    ),
    BenchRequest(
        "GET /users/{id} (def, def dep)", "GET", "/users/7", "verbose=true", b"", 200,
        {"id": 7, "name": "alice", "currency": "EUR", "verbose": True},
    ),
)


def version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine_info() -> list[str]:
    """Python, the machine and the libraries, one line each, for a benchmark's header."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"

    return [
        f"Python {platform.python_version()} ({platform.python_implementation()}), {platform.platform()}",
        f"CPU: {cpu}; {os.cpu_count()} logical cores, {usable} usable; load average {load}",
        f"FastAPI {fastapi.__version__}, Starlette {version('starlette')}, Pydantic {version('pydantic')}, "
        f"lifecycle-tracer {version('lifecycle-tracer')}",
    ]
