"""How much slower is a request when lifecycle-tracer watches it?

    python benchmarks/overhead.py            # full run, about 30 s
    python benchmarks/overhead.py --quick    # smoke run, about 2 s

Drives one small app in-process through httpx's ASGITransport, in variants that
each get a fresh app from ``build_app()``: untraced; traced with a null sink
(full-detail events built, then dropped); traced into a ``Recorder`` (events
kept); and, with no tracer, FastAPI's own telemetry (FastAPI >= 0.142: spans
into an SDK TracerProvider with a SimpleSpanProcessor and InMemorySpanExporter).

The app: GET /items/{item_id}?q=... (path and query params, response model, two
dependencies) and POST /items (a Pydantic body model). The dependencies are the
usual pair: ``get_db``, an async yield dependency (a session with a teardown),
and ``current_user``, an async dependency that needs ``get_db``; the endpoint
asks for ``get_db`` too, so the second use is a per-request cache hit. They are
``async def`` on purpose: a plain ``def`` dependency adds a threadpool hop that
is slower and noisier than the tracer and would flatter the ratio.

After a warm-up the variants run in rounds, in a rotating order; each round
times one batch of requests (GET and POST alternating) per variant. Reported per
variant: median and fastest batch in µs per request, extra µs over untraced, and
the ratio to untraced (median of per-round ratios, so machine drift cancels).
Times include the httpx client's own work, the same for every variant. Once
``instrument()`` has run, the tracer's patches of FastAPI internals are
process-wide, so the untraced app passes through them too (a context-variable
read each, about 2% here).

Targets (2 cores): traced (null sink) <= 1.50x untraced and no slower than FastAPI's
telemetry. Exit code 0 whatever the verdict; non-zero only on a broken setup.
"""

import argparse
import asyncio
import gc
import importlib.util
import platform
import statistics
import sys
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import fastapi
import httpx
from fastapi import Depends, FastAPI
from pydantic import BaseModel

from lifecycle_tracer import Recorder, instrument

NO_TELEMETRY = ""
if importlib.util.find_spec("fastapi.telemetry") is None:
    NO_TELEMETRY = f"FastAPI {fastapi.__version__} has no built-in telemetry (needs >= 0.142)"
elif importlib.util.find_spec("opentelemetry.sdk") is None:
    NO_TELEMETRY = "opentelemetry-sdk is not installed"
else:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

# httpx's ASGITransport runs `import sniffio` per request; if it is not installed, each miss
# searches sys.path (~40 µs of client-side cost padding the baseline). Make it fail fast.
if importlib.util.find_spec("sniffio") is None:
    sys.modules["sniffio"] = None  # type: ignore[assignment]

GET_URL = "/items/42?q=hello"
POST_BODY = b'{"name": "widget", "price": 9.5, "tags": ["a", "b"]}'
POST_HEADERS = {"content-type": "application/json"}


class ItemIn(BaseModel):
    name: str
    price: float
    tags: list[str] = []


class ItemOut(ItemIn):
    id: int
    owner: str | None = None
    q: str | None = None


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

    return app


class NullSink:
    def emit(self, e: Any) -> None:
        pass


class SetupError(Exception):
    pass


class Variant:
    def __init__(self, name: str, app: FastAPI, reset: Any = None) -> None:
        self.name, self.reset = name, reset or (lambda: None)
        transport = httpx.ASGITransport(app=app)
        self.client = httpx.AsyncClient(transport=transport, base_url="http://bench")
        self.times: list[float] = []  # microseconds per request, one entry per round

    async def get(self) -> httpx.Response:
        return await self.client.get(GET_URL)

    async def post(self) -> httpx.Response:
        return await self.client.post("/items", content=POST_BODY, headers=POST_HEADERS)

    async def batch(self, n: int) -> int:
        """Send n requests, GET and POST alternating; return the elapsed nanoseconds."""
        failed = 0
        t0 = time.perf_counter_ns()
        for i in range(n):
            r = await (self.post() if i & 1 else self.get())
            failed += r.status_code >= 300
        elapsed = time.perf_counter_ns() - t0
        if failed:
            raise SetupError(f"{self.name}: {failed} of {n} requests failed")
        return elapsed


def ratio(a: list[float], b: list[float]) -> float:  # median of per-round (paired) ratios
    return statistics.median(x / y for x, y in zip(a, b, strict=True))


async def main(args: argparse.Namespace) -> None:
    traced_app, recorded_app, recorder = build_app(), build_app(), Recorder()
    tracer = instrument(traced_app, sink=NullSink())
    instrument(recorded_app, sink=recorder)
    untraced, traced = Variant("untraced", build_app()), Variant("traced (null sink)", traced_app)
    variants = [untraced, traced, Variant("traced + Recorder", recorded_app, recorder.clear)]
    exporter = telemetry = None
    if NO_TELEMETRY:
        print(f"note: {NO_TELEMETRY}; the FastAPI telemetry column is unavailable.")
    else:  # a private provider: the global one is left alone
        exporter, provider = InMemorySpanExporter(), TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        config = dict(tracer_provider=provider, metrics=False, logs=False, auto_configure=False)
        telemetry = Variant("FastAPI telemetry", build_app(config))
        telemetry.reset = exporter.clear
        variants.append(telemetry)

    for v in variants:  # check the answers, then warm up
        r_get, r_post = await v.get(), await v.post()
        answers = (r_get.status_code, r_get.json().get("owner"), r_post.status_code)
        if answers != (200, "alice", 201):
            raise SetupError(f"{v.name}: unexpected answers {r_get.text!r} / {r_post.text!r}")
        await v.batch(args.warmup)

    counter, events = Recorder(), []  # an extra sink on the traced app counts its events
    tracer.add_sink(counter)
    for send in (traced.get, traced.post):
        counter.clear()
        await send()
        events.append(len(counter.events))
    tracer.remove_sink(counter)
    if not all(events):
        raise SetupError("the tracer emitted no events; is instrument() working?")
    spans = ""
    if exporter is not None and telemetry is not None:
        if not exporter.get_finished_spans():
            raise SetupError("FastAPI telemetry produced no spans during the warm-up")
        counts = []
        for send in (telemetry.get, telemetry.post):
            exporter.clear()
            await send()
            counts.append(len(exporter.get_finished_spans()))
        spans = f"; FastAPI telemetry spans per request: GET {counts[0]}, POST {counts[1]}"

    print(
        f"lifecycle-tracer overhead: FastAPI {fastapi.__version__}, "
        f"Python {platform.python_version()}, {args.rounds} rounds x {args.batch} requests "
        "per variant (GET/POST alternating)"
    )
    print(f"tracer events per request: GET {events[0]}, POST {events[1]}{spans}")

    for rnd in range(args.rounds):
        k = rnd % len(variants)
        for v in variants[k:] + variants[:k]:
            v.reset()  # drop kept events/spans and collect garbage outside the timed part
            gc.collect()
            v.times.append(await v.batch(args.batch) / args.batch / 1000)
    for v in variants:
        await v.client.aclose()

    base = statistics.median(untraced.times)
    print(f"\n{'variant':<22}{'median µs/req':>15}{'min µs/req':>12}", end="")
    print(f"{'+µs/req':>10}{'× untraced':>12}")
    for v in variants:
        med = statistics.median(v.times)
        print(
            f"{v.name:<22}{med:>15.1f}{min(v.times):>12.1f}{med - base:>+10.1f}"
            f"{ratio(v.times, untraced.times):>11.2f}×"
        )
    r1 = ratio(traced.times, untraced.times)
    print(f"\ntraced/untraced = {r1:.2f}× (target ≤ 1.50×): {'PASS' if r1 <= 1.5 else 'FAIL'}")
    if telemetry is None:
        print("traced vs FastAPI telemetry: n/a (telemetry unavailable)")
    else:
        r2 = ratio(traced.times, telemetry.times)
        verdict = "PASS" if r2 <= 1.0 else "FAIL"
        print(f"traced vs FastAPI telemetry: {r2:.2f}× (target ≤ 1.00×): {verdict}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60, help="measured rounds (default 60)")
    parser.add_argument("--batch", type=int, default=200, help="requests per batch (default 200)")
    parser.add_argument("--warmup", type=int, default=300, help="warm-up requests per variant")
    parser.add_argument("--quick", action="store_true", help="smoke run (~2 s): 8 rounds x 50")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.batch, args.warmup = 8, 50, 50
    if args.rounds < 1 or args.batch < 2 or args.warmup < 0:
        parser.error("--rounds must be >= 1, --batch >= 2, --warmup >= 0")
    return args


if __name__ == "__main__":
    try:
        asyncio.run(main(parse_args()))
    except SetupError as exc:
        sys.exit(f"error: {exc}")
