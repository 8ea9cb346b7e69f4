"""A signup flow that defers work to background tasks: BackgroundTasks as a
parameter and in a dependency, sync and async tasks, and a Response carrying
its own BackgroundTask."""

from typing import Annotated

from fastapi import BackgroundTasks, Depends, FastAPI
from fastapi.responses import JSONResponse
from starlette.background import BackgroundTask

from ._spec import Req


def make_app() -> FastAPI:
    app = FastAPI()
    outbox: list[str] = []

    def send_welcome(email: str) -> None:  # sync: runs in the threadpool
        outbox.append(f"welcome {email}")

    async def notify_admins(email: str, source: str = "web") -> None:
        outbox.append(f"admins: {email} via {source}")

    def audit(tasks: BackgroundTasks, email: str) -> str:
        tasks.add_task(outbox.append, f"audit {email}")
        return email

    @app.post("/signup", status_code=202)
    async def signup(
        email: str,
        tasks: BackgroundTasks,
        audited: Annotated[str, Depends(audit)],
    ) -> dict[str, str]:
        tasks.add_task(send_welcome, email)
        tasks.add_task(notify_admins, email, source="signup")
        return {"queued_for": audited}

    @app.post("/signup-sync")
    def signup_sync(email: str, tasks: BackgroundTasks) -> dict[str, str]:
        tasks.add_task(send_welcome, email)
        return {"queued": "1"}

    @app.post("/direct")
    async def direct(email: str) -> JSONResponse:
        return JSONResponse({"direct": email}, background=BackgroundTask(notify_admins, email, source="direct"))

    @app.get("/outbox")
    async def get_outbox() -> list[str]:
        return outbox

    return app


REQUESTS = [
    Req(
        "tasks-param-and-dependency",
        method="POST",
        path="/signup",
        params={"email": "ada@example.com"},
        expect_status=202,
        followups=(Req("outbox-after-signup", path="/outbox"),),
        uvicorn=False,  # over a real server the tasks may still be running
    ),
    Req("tasks-response-only", method="POST", path="/signup", params={"email": "bob@example.com"}, expect_status=202),
    Req(
        "sync-endpoint-sync-task",
        method="POST",
        path="/signup-sync",
        params={"email": "cy@example.com"},
        expect_status=200,
        followups=(Req("outbox-after-sync", path="/outbox"),),
        uvicorn=False,
    ),
    Req(
        "response-own-background",
        method="POST",
        path="/direct",
        params={"email": "di@example.com"},
        expect_status=200,
        followups=(Req("outbox-after-direct", path="/outbox"),),
        uvicorn=False,
    ),
    Req("missing-email-422-no-tasks", method="POST", path="/signup", expect_status=422),
]
