"""lifecycle-tracer: see how FastAPI handles a request, stage by stage."""

from .events import STAGES, TraceEvent
from .instrument.compat import UnsupportedFastAPIError
from .instrument.tracer import Sink, Tracer, instrument, uninstrument
from .sinks import ConsoleSink, JsonLinesSink, LiveSink, Recorder, read_jsonl

__version__ = "0.1.0"

__all__ = [
    "STAGES",
    "ConsoleSink",
    "JsonLinesSink",
    "LiveSink",
    "Recorder",
    "Sink",
    "TraceEvent",
    "Tracer",
    "UnsupportedFastAPIError",
    "__version__",
    "instrument",
    "read_jsonl",
    "uninstrument",
]
