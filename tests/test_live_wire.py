"""What crosses LiveSink's socket: an event's facts, read back by the viewer as the same event.

The sink sends facts without sentences (the viewer writes them from the same
facts) and encodes with orjson, falling back to json for what orjson refuses;
the viewer reads with orjson, falling back to json for what orjson would read
differently. Each test fails if one side changes a fact the other reads.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, Header
from helpers import Traced
from pydantic import BaseModel

from lifecycle_tracer.events import TraceEvent
from lifecycle_tracer.recording import parse_line
from lifecycle_tracer.sinks.live import encode_batch, encode_event


class Item(BaseModel):
    name: str
    price: float


async def session() -> Any:
    yield {"open": True}


def _app() -> FastAPI:
    # The annotations are strings (``from __future__``): what they name lives at module level.
    app = FastAPI()

    @app.post("/items/{item_id}")
    async def create(item_id: int, item: Item, db: Annotated[dict[str, bool], Depends(session)],
                     authorization: Annotated[str | None, Header()] = None) -> dict[str, Any]:
        return {"id": item_id, "name": item.name, "café": "ünïcode ✓"}

    return app


def _events() -> list[TraceEvent]:
    async def go() -> list[TraceEvent]:
        traced = Traced(_app())
        try:
            ok, first = await traced.request("POST", "/items/3?q=é", json={"name": "a\u2028b", "price": 2.5},
                                             headers={"authorization": "Bearer s3cr3t-t0ken"})
            bad, second = await traced.request("POST", "/items/x", json={"price": "nope"})
        finally:
            await traced.aclose()
        assert ok.status_code == 200 and bad.status_code == 422
        return first + second

    return asyncio.run(go())


def test_every_event_of_real_requests_reads_back_as_the_same_event_with_the_same_sentence() -> None:
    events = _events()
    lines = encode_batch(events).splitlines(keepends=True)
    assert len(lines) == len(events) > 20
    for n, (event, raw) in enumerate(zip(events, lines, strict=True), 1):
        assert b'"explain"' not in raw  # the sentence is written on the viewer's side
        back = parse_line("the stream", n, raw)
        assert back == event and back.explain == event.explain and back.detail == event.detail
    assert b"s3cr3t-t0ken" not in b"".join(lines)  # redacted before any sink, so never on the wire


def test_what_orjson_refuses_or_would_change_crosses_exactly() -> None:
    huge = 2**70  # past 64 bits: orjson refuses to write it, and would read it back as a float
    odd = TraceEvent("r1", 0, "validation", "point", "q\udc80", 5, {"value": huge, "raw": "\udcff"})
    raw = encode_event(odd)
    assert raw.endswith(b"\n") and raw.count(b"\n") == 1
    back = parse_line("the stream", 1, raw)
    assert back.detail["value"] == huge and type(back.detail["value"]) is int
    assert back.name == "q\udc80" and back.detail["raw"] == "\udcff"
    # A line another writer made with a big integer is read by json, not turned into a float by orjson.
    plain = TraceEvent("r1", 0, "validation", "point", "q", 5, {"value": huge + 1})
    line = json.dumps(plain.to_dict()).encode() + b"\n"
    assert parse_line("the stream", 1, line).detail["value"] == huge + 1


def test_an_event_given_its_words_keeps_them_on_the_wire() -> None:
    said = TraceEvent("r1", 0, "routing", "point", "/x", 5, {"matched": True}, explain="Words from a recording.")
    assert parse_line("the stream", 1, encode_event(said)).explain == "Words from a recording."


def test_an_event_crosses_as_its_fields_in_order_and_a_recording_line_must_be_an_object() -> None:
    """On the wire an event is the array of its fields (no names); a file's line is still an object."""
    event = TraceEvent("r1", 3, "routing", "point", "/x", 5, {"matched": True})
    raw = encode_event(event)
    assert raw == b'["r1",3,"routing","point","/x",5,{"matched":true}]\n'
    assert parse_line("the stream", 1, raw) == event
    from lifecycle_tracer.recording import RecordingError, _event

    with pytest.raises(RecordingError, match="it is a list, not a trace event object"):
        _event("run.jsonl", 1, raw)


def test_numbers_at_the_edges_of_64_bits_cross_exactly() -> None:
    """orjson reads -2**63 .. 2**64-1 exactly and anything past as a float: each side of both edges is
    read back as the same integer, whichever reader takes it."""
    for value in (10**19 - 1, 2**63, 2**64 - 1, 2**64, 10**20, -(2**63), -(2**63) - 1, -(10**19 - 1), -(10**19)):
        event = TraceEvent("r1", 0, "validation", "point", "n", 5, {"value": value})
        for raw in (encode_event(event), json.dumps(event.to_dict()).encode() + b"\n"):
            back = parse_line("the stream", 1, raw).detail["value"]
            assert back == value and type(back) is int, (value, raw)


@pytest.mark.parametrize(("line", "says"), [
    (b'["r1",0,["request"],"start","x",5,{}]\n', "stage is a list"),
    (b'["r1",0,"nope","start","x",5,{}]\n', "stage is the text 'nope', an unknown stage"),
    (b'["r1",true,"request","start","x",5,{}]\n', "seq is true"),
    (b'["r1",0,"request","start","x",5,{"status_code":"200"}]\n', "detail.status_code is the text '200'"),
    (b'["r1",0,"request","start","x",5,{},7]\n', "explain is the number 7"),
    (b'["",0,"request","start","x",5,{}]\n', "request_id is empty text"),
    (b'["r1",0,"request"]\n', "it is a list, not a trace event object"),
])
def test_a_wrong_field_in_a_streamed_array_is_named(line: bytes, says: str) -> None:
    from lifecycle_tracer.recording import RecordingError

    with pytest.raises(RecordingError, match=re.escape(says)):
        parse_line("the stream", 2, line)
