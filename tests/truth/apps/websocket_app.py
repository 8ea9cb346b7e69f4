"""WebSockets: accept and talk, the app closes, closing before accept,
WebSocketException, a parameter that fails validation, and a denial response."""


from typing import Annotated

from fastapi import Depends, FastAPI, Query, WebSocket, WebSocketDisconnect, WebSocketException, status

from ..oracle import WsReq


def make_app() -> FastAPI:
    app = FastAPI()

    async def token(token: Annotated[str | None, Query()] = None) -> str:
        if token != "good":
            raise WebSocketException(code=status.WS_1008_POLICY_VIOLATION)
        return token

    @app.websocket("/echo")
    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            while True:
                text = await websocket.receive_text()
                await websocket.send_text(f"echo {text}")
        except WebSocketDisconnect:
            pass

    @app.websocket("/once")
    async def once(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("bye")
        await websocket.close(code=1001)

    @app.websocket("/refuse")
    async def refuse(websocket: WebSocket) -> None:
        await websocket.close(code=1008)

    @app.websocket("/guarded")
    async def guarded(websocket: WebSocket, t: Annotated[str, Depends(token)]) -> None:
        await websocket.accept()
        await websocket.send_text(f"welcome {t}")
        await websocket.close()

    @app.websocket("/typed/{n}")
    async def typed(websocket: WebSocket, n: int) -> None:
        await websocket.accept()
        await websocket.send_text(str(n * 2))
        await websocket.close()

    @app.websocket("/leaks")
    async def leaks(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.receive_text()  # raises WebSocketDisconnect when the client leaves

    return app


TALK = (("text", "hi"), ("receive",), ("text", "again"), ("receive",), ("close", 1000))
REQUESTS = [
    WsReq("accept and talk", path="/echo", script=TALK, uvicorn=True),
    WsReq("the app closes", path="/once", script=(("receive",), ("receive",))),
    WsReq("closed before accept", path="/refuse", uvicorn=True),
    WsReq("WebSocketException before accept", path="/guarded", params={"token": "bad"}),
    WsReq("dependency passes", path="/guarded", params={"token": "good"}, script=(("receive",),)),
    WsReq("path parameter fails validation", path="/typed/abc"),
    WsReq("path parameter valid", path="/typed/4", script=(("receive",),)),
    WsReq("WebSocketDisconnect escapes the endpoint", path="/leaks", script=(("close", 1001),)),
    WsReq("no such WebSocket route", path="/nowhere"),
]
