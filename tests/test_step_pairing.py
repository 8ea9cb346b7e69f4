"""A step's requests fired at once are paired with their own traces, even when they differ only in headers."""

from __future__ import annotations

from pathlib import Path

from lifecycle_tracer.course.format import Request, Step
from lifecycle_tracer.course.loader import LessonFile, load
from lifecycle_tracer.course.session import LessonSession

_LESSON = '''
import asyncio

from fastapi import FastAPI, Header

app = FastAPI()


@app.get("/wait")
async def wait(x_wait: float = Header()):
    await asyncio.sleep(x_wait)
    return {"waited": x_wait}

from lifecycle_tracer.course import Lesson, Request, Step, status

LESSON = Lesson(id="lesson1", title="t", goals=["g"], topics=["t"],
                steps=[Step(title="s", narration="n", request=Request("GET", "/wait", headers={"x-wait": "0"}),
                            checks=[status(200)])])
'''


def test_requests_alike_but_for_a_header_get_their_own_traces(tmp_path: Path) -> None:
    path = tmp_path / "lesson01_wait.py"
    path.write_text(_LESSON, encoding="utf-8")
    loaded = load(LessonFile(1, "wait", path))
    # The slow one is listed first and finishes last: arrival or completion order would pair them wrongly.
    step = Step(title="both", narration="n", request=[
        Request("GET", "/wait", headers={"x-wait": "0.4"}), Request("GET", "/wait", headers={"x-wait": "0"}),
        Request("GET", "/wait", headers={"x-wait": "0.2"})])
    with LessonSession(loaded) as session:
        for _ in range(3):
            result = session.run_step(step)
            for sent, response, trace in zip(step.request, result.responses, result.traces, strict=True):
                headers = dict(trace[0].detail["headers"])
                assert headers["x-wait"] == sent.headers["x-wait"]
                assert response.json() == {"waited": float(sent.headers["x-wait"])}
                end = trace[-1]
                assert end.stage == "request" and end.kind == "end" and end.detail["status_code"] == 200
