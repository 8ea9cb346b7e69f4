"""How much slower is a request when lifecycle-tracer watches it?

Run it with the package and FastAPI installed (opentelemetry-sdk too, for the
comparison column)::

    python benchmarks/overhead.py            # full run, about 30 s
    python benchmarks/overhead.py --quick    # smoke run, a few seconds

It drives one small, realistic app in-process through httpx's ASGITransport,
in four variants that each get a fresh app from ``build_app()``:

* untraced               - the baseline;
* traced (null sink)     - ``instrument(app, sink=NullSink())``: the tracer's
                           full-detail events are built and then dropped;
* traced + Recorder      - the same, keeping every event in a ``Recorder``;
* FastAPI telemetry      - no tracer; FastAPI's own OpenTelemetry spans
                           (FastAPI >= 0.142) into an SDK TracerProvider with a
                           SimpleSpanProcessor and an InMemorySpanExporter.

The app: GET /items/{item_id}?q=... (path param, query param, response model,
two dependencies) and POST /items (a Pydantic body model). The dependencies
are the usual pair: ``get_db``, an async yield dependency (a session with a
teardown), and ``current_user``, an async dependency that itself needs
``get_db``; the endpoint asks for ``get_db`` too, so FastAPI serves it from
its per-request cache the second time. They are ``async def`` on purpose: a
plain ``def`` dependency costs a threadpool hop, which is slower and noisier
than anything measured here and would flatter the ratio.

After a warm-up, the variants run in rounds; each round times one batch of
requests (GET and POST alternating, one at a time) per variant, the variants
in a rotating order. Reported per variant: the median and the fastest batch
(microseconds per request), the extra time per request over untraced, and the
ratio to untraced (the median of per-round ratios, so slow drift of the
machine cancels out). Times include the httpx client's own work, which is
the same for every variant. Note that the tracer patches a few FastAPI
internals process-wide once ``instrument()`` is first called; the untraced
app then passes through those patches too (a context-variable read each).

Targets, on a 2-core machine: traced (null sink) <= 1.50x untraced, and no
slower than FastAPI's own telemetry. The exit code is 0 whether or not the
targets are met; it is non-zero only if the setup is broken.
"""

import argparse
import asyncio
import gc
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

try:  # FastAPI's built-in telemetry (>= 0.142) plus the OpenTelemetry SDK
    import fastapi.telemetry  # noqa: F401
except ImportError:
    NO_TELEMETRY = f"FastAPI {fastapi.__version__} has no built-in telemetry (needs >= 0.142)"
else:
    try:
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    except ImportError:
        NO_TELEMETRY = "opentelemetry-sdk is not installed"
    else:
        NO_TELEMETRY = ""

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


class CountingSink:
    def __init__(self) -> None:
        self.n = 0

    def emit(self, e: Any) -> None:
        self.n += 1


class Variant:
    def __init__(self, name: str, app: FastAPI, reset: Any = None) -> None:
        self.name, self.app, self.reset = name, app, reset or (lambda: None)
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")
        self.times: list[float] = []  # microseconds per request, one per round


async def run_batch(client: httpx.AsyncClient, n: int) -> tuple[int, int]:
    """Send n requests (GET, POST, GET, ...); return (elapsed ns, failed responses)."""
    failed = 0
    t0 = time.perf_counter_ns()
    for i in range(n):
        if i & 1:
            r = await client.post("/items", content=POST_BODY, headers=POST_HEADERS)
        else:
            r = await client.get(GET_URL)
        failed += r.status_code >= 300
    return time.perf_counter_ns() - t0, failed


async def main(args: argparse.Namespace) -> int:
    traced_app, recorded_app, recorder = build_app(), build_app(), Recorder()
    tracer = instrument(traced_app, sink=NullSink())
    instrument(recorded_app, sink=recorder)
    variants = [
        Variant("untraced", build_app()),
        Variant("traced (null sink)", traced_app),
        Variant("traced + Recorder", recorded_app, recorder.clear),
    ]
    exporter = None
    if NO_TELEMETRY:
        print(f"note: {NO_TELEMETRY}; the FastAPI telemetry column is unavailable.")
    else:
        exporter, provider = InMemorySpanExporter(), TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        config = {"tracer_provider": provider, "metrics": False, "logs": False, "auto_configure": False}
        variants.append(Variant("FastAPI telemetry", build_app(config), exporter.clear))

    # Warm-up, and check every variant answers correctly.
    for v in variants:
        r_get, r_post = await v.client.get(GET_URL), await v.client.post("/items", content=POST_BODY, headers=POST_HEADERS)
        if r_get.status_code != 200 or r_get.json()["owner"] != "alice" or r_post.status_code != 201:
            print(f"error: {v.name}: unexpected answers {r_get.status_code} {r_get.text!r} / {r_post.status_code} {r_post.text!r}", file=sys.stderr)
            return 2
        _, failed = await run_batch(v.client, args.warmup)
        if failed:
            print(f"error: {v.name}: {failed} failed requests during warm-up", file=sys.stderr)
            return 2

    # Events per request, counted with an extra sink on the traced app.
    counter = CountingSink()
    tracer.add_sink(counter)
    await variants[1].client.get(GET_URL)
    get_events, counter.n = counter.n, 0
    await variants[1].client.post("/items", content=POST_BODY, headers=POST_HEADERS)
    post_events = counter.n
    tracer.remove_sink(counter)
    if not get_events or not post_events:
        print("error: the tracer emitted no events; is instrument() working?", file=sys.stderr)
        return 2
    spans = ""
    if exporter is not None:
        if not exporter.get_finished_spans():
            print("error: FastAPI telemetry produced no spans during warm-up", file=sys.stderr)
            return 2
        counts = []
        for req in (variants[-1].client.get(GET_URL), variants[-1].client.post("/items", content=POST_BODY, headers=POST_HEADERS)):
            exporter.clear()
            await req
            counts.append(len(exporter.get_finished_spans()))
        spans = f"; FastAPI telemetry spans per request: GET {counts[0]}, POST {counts[1]}"

    print(
        f"lifecycle-tracer overhead: FastAPI {fastapi.__version__}, Python {platform.python_version()}, "
        f"{args.rounds} rounds x {args.batch} requests per variant (GET/POST alternating)"
    )
    print(f"tracer events per request: GET {get_events}, POST {post_events}{spans}")

    for rnd in range(args.rounds):
        k = rnd % len(variants)
        for v in variants[k:] + variants[:k]:
            v.reset()
            gc.collect()
            elapsed, failed = await run_batch(v.client, args.batch)
            if failed:
                print(f"error: {v.name}: {failed} failed requests", file=sys.stderr)
                return 2
            v.times.append(elapsed / args.batch / 1000)
    for v in variants:
        await v.client.aclose()

    base = variants[0].times

    def ratio(a: list[float], b: list[float]) -> float:  # median of paired per-round ratios
        return statistics.median(x / y for x, y in zip(a, b, strict=True))

    print()
    print(f"{'variant':<22}{'median µs/req':>15}{'min µs/req':>12}{'+µs/req':>10}{'× untraced':>12}")
    for v in variants:
        med = statistics.median(v.times)
        extra = med - statistics.median(base)
        print(f"{v.name:<22}{med:>15.1f}{min(v.times):>12.1f}{extra:>+10.1f}{ratio(v.times, base):>11.2f}×")
    print()
    traced = variants[1].times
    r1 = ratio(traced, base)
    print(f"traced/untraced = {r1:.2f}× (target ≤ 1.50×): {'PASS' if r1 <= 1.5 else 'FAIL'}")
    if exporter is None:
        print("traced vs FastAPI telemetry: n/a (telemetry unavailable)")
    else:
        r2 = ratio(traced, variants[-1].times)
        print(f"traced vs FastAPI telemetry: {r2:.2f}× (target ≤ 1.00×): {'PASS' if r2 <= 1.0 else 'FAIL'}")
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40, help="measured rounds (default: 40)")
    parser.add_argument("--batch", type=int, default=200, help="requests per batch (default: 200)")
    parser.add_argument("--warmup", type=int, default=300, help="warm-up requests per variant")
    parser.add_argument("--quick", action="store_true", help="smoke run: 5 rounds x 40 requests")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.batch, args.warmup = 5, 40, 40
    if args.rounds < 1 or args.batch < 2 or args.warmup < 0:
        parser.error("--rounds must be >= 1, --batch >= 2, --warmup >= 0")
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
