"""Lesson 1: Hello lifecycle."""

from fastapi import FastAPI

app = FastAPI(title="Hello lifecycle")


# @app.get: a GET of /hello/<name> runs say_hello; {name} fills name, ?excited=true fills excited.
# async def: FastAPI awaits it (read it as def for now).
@app.get("/hello/{name}")
async def say_hello(name: str, excited: bool = False) -> dict[str, str]:
    mark = "!" if excited else "."
    return {"message": f"Hello, {name}{mark}"}


# The app ends here; the rest is the lesson's script: its steps, questions and checks.
from lifecycle_tracer.course import Lesson, Question, Request, Step, custom, has, order, status  # noqa: E402


def _every_layer_is_built_in() -> object:
    """Step 2 says the app declares no middleware: every layer comes from FastAPI or Starlette."""
    def test(r: object) -> bool | str:
        layers = [(e.name, str(e.detail.get("module") or "")) for e in r.events  # type: ignore[attr-defined]
                  if e.stage == "middleware" and e.kind == "start"]
        wrong = [f"{name} ({module})" for name, module in layers if not module.startswith(("fastapi.", "starlette."))]
        return bool(layers) and not wrong or f"not built in: {', '.join(wrong) or 'no layers found'}"
    return custom("every middleware layer comes from FastAPI or Starlette", test)

LESSON = Lesson(
    id="lesson1",
    title="Hello lifecycle",
    topics=["stages", "middleware", "routing", "validation", "endpoint", "serialization", "response"],
    goals=[
        "Name, in order, the stages every FastAPI request goes through.",
        "See the layers FastAPI and Starlette add by themselves.",
    ],
    steps=[
        Step(
            title="One request, every stage",
            narration="""
Read the app first: the top of `lesson01_hello.py`, down to "The app ends
here". We send it
`GET /hello/Ada?excited=true` and follow the request **in**, through each
stage, and back **out** as the **response**. **Middleware** is code that
runs before and after the rest of the app; FastAPI and Starlette (the toolkit FastAPI is built
on) add their own layers.
""",
            request=Request("GET", "/hello/Ada", query={"excited": "true"}),
            look_for=["routing", "validation:excited", "serialization.start"],  # the endpoint and response lines speak for themselves
            checks=[
                status(200),
                order(
                    ("request", "start"),
                    ("middleware", "start"),
                    ("routing",),
                    ("validation",),
                    ("endpoint", "start"),
                    ("serialization", "start"),
                    ("response", "start"),
                    ("response", "end"),
                    ("request", "end"),
                ),
                has("validation", name="excited", raw="true", value=True, ok=True),
                has("endpoint", "start", name="say_hello", is_async=True),
                has("serialization", "start", response_model="dict[str, str]"),
            ],
        ),
        Step(
            title="The layers you did not write",
            narration="""
This app declares no middleware: all its layers are built into FastAPI
and Starlette, and the inner ones come in later lessons.
""",
            request=Request("GET", "/hello/Grace"),
            look_for=["middleware:ServerErrorMiddleware"],
            fold_rest=True,  # step 1 showed the stages inside the layers; this one is about the layers
            question=Question(
                prompt="ServerErrorMiddleware, the outermost layer, starts first. When does it end?",
                choices=[
                    "First of all: it hands the request on and is done",
                    "Last of all: only after every layer inside it has ended",
                    "Right after the endpoint returns, before the response is sent",
                ],
                answer=1,
                why="Layers nest like function calls: each calls the next and waits for it to return, so they "
                "end in reverse order. The outermost is first in, last out.",
            ),
            hints=["Follow the ■ middleware lines at the end of the trace: which one comes last, and at what depth?"],
            checks=[
                status(200),
                has("middleware", "start", name="ServerErrorMiddleware", depth=0, builtin=True),
                order(("middleware", "start", "ServerErrorMiddleware"), ("middleware", "start", "ExceptionMiddleware")),
                order(("middleware", "end", "ExceptionMiddleware"), ("middleware", "end", "ServerErrorMiddleware")),
                order(("response", "end"), ("middleware", "end", "ServerErrorMiddleware")),
                _every_layer_is_built_in(),
            ],
        ),
    ],
    summary="""
**In** through the middleware, then **routing**, **validation**, the
**endpoint**, **serialization** and the **response**, back out through the
same layers. Next lesson: how type hints drive validation, and what
happens when no route matches.
""",
)
