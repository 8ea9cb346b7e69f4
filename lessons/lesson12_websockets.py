"""Lesson 12 draft."""
from typing import Annotated

from fastapi import Cookie, Depends, FastAPI, WebSocket, WebSocketDisconnect, WebSocketException, status

from lifecycle_tracer.lesson import Lesson, Step, WebSocketRequest

app = FastAPI(title="Chat")
SESSIONS = {"s-3c9d": "ada"}


async def get_user(session: Annotated[str | None, Cookie()] = None) -> str:
    user = SESSIONS.get(session or "")
    if user is None:
        raise WebSocketException(code=status.WS_1008_POLICY_VIOLATION, reason="log in first")
    return user


@app.websocket("/ws/{room}")
async def chat(websocket: WebSocket, room: str, user: Annotated[str, Depends(get_user)]) -> None:
    await websocket.accept()
    try:
        while True:
            text = await websocket.receive_text()
            if text == "/quit":
                await websocket.send_text("bye!")
                await websocket.close(code=1000)
                return
            await websocket.send_text(f"{user}@{room}: {text}")
    except WebSocketDisconnect:
        pass


LESSON = Lesson(id="lesson12", title="x", goals=[], topics=[], steps=[
    Step(title="a", narration="a", request=WebSocketRequest("/ws/lobby", send=["hello"], headers={"Cookie": "session=s-3c9d"})),
    Step(title="b", narration="b", request=WebSocketRequest("/ws/lobby", send=["hi", "/quit"], headers={"Cookie": "session=s-3c9d"})),
    Step(title="c", narration="c", request=WebSocketRequest("/ws/lobby", send=["hi"])),
    Step(title="d", narration="d", request=WebSocketRequest("/chat/lobby", send=["hi"])),
])
