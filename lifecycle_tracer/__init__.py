"""lifecycle-tracer: see how FastAPI handles a request, stage by stage."""

from ._compat import UnsupportedFastAPIError
from .events import STAGES, TraceEvent
from .sinks import ConsoleSink, JsonLinesSink, Recorder, read_jsonl
from .tracer import Sink, Tracer, instrument

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
