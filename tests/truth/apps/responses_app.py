"""Response classes other than JSON, response_model filtering, a Response parameter,
and background tasks run after the body."""


from fastapi import BackgroundTasks, FastAPI, Response
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse
from pydantic import BaseModel

from ..oracle import HttpReq


class Public(BaseModel):
    name: str


def make_app() -> FastAPI:
    app = FastAPI()
    log: list[str] = []

    def write_log(message: str) -> None:
        log.append(message)

    async def notify(message: str) -> None:
        log.append("notified " + message)

    @app.get("/html", response_class=HTMLResponse)
    async def html() -> str:
        return "<h1>Hello</h1>"

    @app.get("/html-direct")
    async def html_direct() -> HTMLResponse:
        return HTMLResponse("<p>direct</p>", status_code=202)

    @app.get("/text", response_class=PlainTextResponse)
    def text() -> str:
        return "plain words"

    @app.get("/go")
    async def go() -> RedirectResponse:
        return RedirectResponse("/html")

    @app.get("/model", response_model=Public)
    def model() -> dict[str, str]:
        return {"name": "ada", "secret": "hidden-from-client"}

    @app.get("/status")
    def status(response: Response) -> dict[str, bool]:
        response.status_code = 201
        response.headers["X-Extra"] = "yes"
        return {"ok": True}

    @app.post("/tasks")
    async def tasks(background_tasks: BackgroundTasks) -> dict[str, str]:
        background_tasks.add_task(write_log, "sync task")
        background_tasks.add_task(notify, "async task")
        return {"queued": "2"}

    @app.get("/empty", status_code=204)
    async def empty() -> None:
        return None

    return app


REQUESTS = [
    HttpReq("html response class", path="/html", uvicorn=True),
    HttpReq("html returned directly", path="/html-direct"),
    HttpReq("plain text", path="/text"),
    HttpReq("redirect", path="/go"),
    HttpReq("response model drops a field", path="/model"),
    HttpReq("status changed through Response", path="/status"),
    HttpReq("background tasks sync and async", method="POST", path="/tasks", uvicorn=True),
    HttpReq("204 no content", path="/empty"),
    HttpReq("HEAD on a GET route", method="HEAD", path="/html"),
]
