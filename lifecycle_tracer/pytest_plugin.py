"""The ``lifecycle_trace`` pytest fixture, registered by the ``pytest11`` entry point in pyproject.toml.

pytest loads every installed plugin in every session, so this module defines
the fixture and nothing else; the tracing machinery is reached only when a
test asks for the fixture. Disable it with ``-p no:lifecycle_tracer``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .testing import LifecycleTrace


@pytest.fixture
def lifecycle_trace() -> Iterator[Callable[[Any], LifecycleTrace]]:
    """Trace a FastAPI app for this test: ``trace = lifecycle_trace(app)``, then send it requests.

    The returned ``LifecycleTrace`` holds the events (``events``,
    ``by_request()``) and answers for the last request (or a given id):
    ``dependencies()``, ``teardowns()``, ``handler()``, ``endpoint_ran()``,
    ``endpoint_thread()``, ``failed_params()``, ``status()``. Ids count from
    ``"r1"`` in every test, also for an app that calls ``instrument`` itself
    (its own sinks keep getting every event, under its tracer's ids). After the
    test the app is left exactly as it was (see ``lifecycle_tracer.uninstrument``).

        def test_db_closes_after_the_response(lifecycle_trace):
            trace = lifecycle_trace(app)
            TestClient(app).get("/items/3")
            assert trace.teardowns() == [("get_db", "after response")]
    """
    from .testing import traced

    with ExitStack() as undo:
        def trace_app(app: Any) -> LifecycleTrace:
            return undo.enter_context(traced(app))

        yield trace_app
