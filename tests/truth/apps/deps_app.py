"""Dependencies: sub-dependencies and the per-request cache, use_cache=False,
yield dependencies (default and scope="function"), dependency_overrides,
class dependencies, and values the tracer must never look into: an object
whose __repr__/__iter__ record being called, and a Mapping."""


from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Annotated, Any

from fastapi import BackgroundTasks, Depends, FastAPI

from ..oracle import HttpReq

CALLS: list[str] = []  # what the spies saw; the oracle's profile sees the same calls


class Spy:
    """A value whose dunders record being called."""

    def __init__(self, tag: str) -> None:
        self.tag = tag

    def __repr__(self) -> str:
        CALLS.append("Spy.__repr__")
        return f"Spy({self.tag!r})"

    def __iter__(self) -> Iterator[str]:
        CALLS.append("Spy.__iter__")
        return iter([self.tag])

    def __len__(self) -> int:
        CALLS.append("Spy.__len__")
        return 1


class Settings(Mapping[str, str]):
    """A Mapping: previewing it by iterating would call the app's code."""

    def __init__(self) -> None:
        self._data = {"mode": "test"}

    def __getitem__(self, key: str) -> str:
        CALLS.append("Settings.__getitem__")
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        CALLS.append("Settings.__iter__")
        return iter(self._data)

    def __len__(self) -> int:
        CALLS.append("Settings.__len__")
        return len(self._data)


class Pager:
    def __init__(self, skip: int = 0, limit: int = 10) -> None:
        self.skip = skip
        self.limit = limit


def make_app() -> FastAPI:
    app = FastAPI()
    journal: list[str] = []

    def common(q: str | None = None) -> str | None:
        return q

    async def user(token: Annotated[str | None, Depends(common)]) -> str:
        return "ada"

    def fresh() -> int:
        journal.append("fresh")
        return len(journal)

    def db() -> Iterator[str]:
        journal.append("open")
        yield "db-session"
        journal.append("close")

    async def adb() -> AsyncIterator[str]:
        journal.append("aopen")
        yield "adb-session"
        journal.append("aclose")

    def per_function() -> Iterator[str]:
        journal.append("fopen")
        yield "function-scoped"
        journal.append("fclose")

    def spy() -> Spy:
        return Spy("x")

    def settings() -> Settings:
        return Settings()

    def real_clock() -> str:
        return "real"

    def fake_clock() -> str:
        return "fake"

    @app.get("/cache")
    async def cache(a: Annotated[str | None, Depends(common)], u: Annotated[str, Depends(user)],
                    b: Annotated[str | None, Depends(common)]) -> dict[str, Any]:
        return {"a": a, "u": u, "b": b}

    @app.get("/no-cache")
    def no_cache(x: Annotated[int, Depends(fresh, use_cache=False)], y: Annotated[int, Depends(fresh, use_cache=False)]) -> dict[str, int]:
        return {"x": x, "y": y}

    @app.get("/yield")
    def with_yield(s: Annotated[str, Depends(db)], a: Annotated[str, Depends(adb)],
                   f: Annotated[str, Depends(per_function, scope="function")], tasks: BackgroundTasks) -> dict[str, str]:
        tasks.add_task(journal.append, "task")
        return {"s": s, "a": a, "f": f}

    @app.get("/class")
    async def with_class(p: Annotated[Pager, Depends()]) -> dict[str, int]:
        return {"skip": p.skip, "limit": p.limit}

    @app.get("/spy")
    async def with_spy(s: Annotated[Spy, Depends(spy)], m: Annotated[Settings, Depends(settings)]) -> dict[str, str]:
        return {"tag": s.tag}

    @app.get("/override")
    async def override(clock: Annotated[str, Depends(real_clock)]) -> dict[str, str]:
        return {"clock": clock}

    @app.get("/dep-fails")
    async def dep_fails(p: Annotated[Pager, Depends()]) -> dict[str, int]:
        return {"skip": p.skip}

    app.dependency_overrides[real_clock] = fake_clock
    return app


REQUESTS = [
    HttpReq("cached sub-dependency", path="/cache", params={"q": "hi"}, uvicorn=True),
    HttpReq("use_cache=False calls twice", path="/no-cache"),
    HttpReq("yield dependencies, function scope, background task", path="/yield", uvicorn=True),
    HttpReq("class dependency", path="/class", params={"skip": "5"}),
    HttpReq("values with spying dunders", path="/spy"),
    HttpReq("dependency_overrides", path="/override"),
    HttpReq("class dependency with a bad parameter", path="/dep-fails", params={"limit": "lots"}),
]
