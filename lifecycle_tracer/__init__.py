"""lifecycle-tracer: see how FastAPI handles a request, stage by stage."""

from .events import STAGES, TraceEvent
from .instrument.compat import UnsupportedFastAPIError
from .instrument.tracer import Sink, Tracer, instrument
from .sinks import ConsoleSink, JsonLinesSink, Recorder, read_jsonl

__version__ = "0.1.0"

__all__ = [
    "STAGES",
    "ConsoleSink",
    "JsonLinesSink",
    "Recorder",
    "Sink",
    "TraceEvent",
    "Tracer",
    "UnsupportedFastAPIError",
    "__version__",
    "instrument",
    "read_jsonl",
]
