"""Sinks: one-method objects that receive events.

A sink's ``emit`` runs on whichever thread produced the event (the event
loop, a threadpool worker), inside the request, so it must be quick; the
tracer catches and logs anything it raises. ``Recorder`` only keeps the
event. ``ConsoleSink`` and ``JsonLinesSink`` do I/O, so their ``emit`` only
queues the event and each sink's own writer thread formats and writes it
(``OffThreadSink``); ``flush()`` waits for it, ``close()`` stops it.
``LiveSink`` streams to a viewer in another process and drops, never waits.
"""

from .console import STAGE_STYLE, ConsoleSink, EventLine, nested
from .jsonl import JsonLinesSink, read_jsonl
from .live import LiveSink
from .memory import Recorder
from .offthread import OffThreadSink

__all__ = [
    "STAGE_STYLE",
    "ConsoleSink",
    "EventLine",
    "JsonLinesSink",
    "LiveSink",
    "OffThreadSink",
    "Recorder",
    "nested",
    "read_jsonl",
]
