"""A chat server: WebSocket echo, JSON and bytes, subprotocols, a dependency
on the handshake, server-side close codes, refusals before accept (close,
WebSocketException, HTTP denial response) and a crash after accept."""

from typing import Annotated

from fastapi import Depends, FastAPI, Query, WebSocket, WebSocketDisconnect, WebSocketException, status
from fastapi.responses import JSONResponse

from ._spec import WS, Req


def make_app() -> FastAPI:
    app = FastAPI()
    log: list[str] = []

    async def require_token(websocket: WebSocket, token: Annotated[str | None, Query()] = None) -> str:
        if token != "sesame":
            raise WebSocketException(code=status.WS_1008_POLICY_VIOLATION, reason="bad token")
        return "ada"

    @app.websocket("/ws/echo")
    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            while True:
                text = await websocket.receive_text()
                if text == "bye":
                    await websocket.close(code=1000, reason="see you")
                    return
                await websocket.send_text(f"echo: {text}")
        except WebSocketDisconnect as exc:
            log.append(f"client left with {exc.code}")

    @app.websocket("/ws/json")
    async def json_room(websocket: WebSocket, user: Annotated[str, Depends(require_token)]) -> None:
        await websocket.accept(headers=[(b"x-room", b"lobby")])
        msg = await websocket.receive_json()
        await websocket.send_json({"from": user, "got": msg, "n": len(msg)})
        data = await websocket.receive_bytes()
        await websocket.send_bytes(data[::-1])
        await websocket.close(code=4001, reason="room closed")

    @app.websocket("/ws/proto")
    async def proto(websocket: WebSocket) -> None:
        offered = websocket.scope.get("subprotocols", [])
        chosen = "chat.v2" if "chat.v2" in offered else None
        await websocket.accept(subprotocol=chosen)
        await websocket.send_text(f"speaking {chosen}")
        await websocket.close()

    @app.websocket("/ws/closed")
    async def refuse(websocket: WebSocket) -> None:
        await websocket.close(code=status.WS_1013_TRY_AGAIN_LATER, reason="busy")

    @app.websocket("/ws/denied")
    async def denied(websocket: WebSocket) -> None:
        await websocket.send_denial_response(
            JSONResponse({"detail": "upgrade required"}, status_code=403, headers={"x-why": "plan"})
        )

    @app.websocket("/ws/crash")
    async def crash(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.receive_text()
        raise RuntimeError("chat backend fell over")

    @app.websocket("/ws/items/{item_id}")
    async def item_feed(websocket: WebSocket, item_id: int) -> None:
        await websocket.accept()
        await websocket.send_json({"item": item_id})
        await websocket.close()

    @app.get("/ws-log")
    async def ws_log() -> list[str]:
        return log

    return app


REQUESTS = [
    Req("http-next-to-websockets", path="/ws-log", expect_status=200),
    Req("http-get-on-ws-route-404", path="/ws/echo", expect_status=404),
]

WEBSOCKETS = [
    WS(
        "echo-then-server-close",
        "/ws/echo",
        (
            ("send_text", "hello"),
            ("receive",),
            ("send_text", "again"),
            ("receive",),
            ("send_text", "bye"),
            ("receive",),
        ),
    ),
    WS("echo-client-closes", "/ws/echo", (("send_text", "ping"), ("receive",), ("close", 1001))),
    WS(
        "json-bytes-custom-close",
        "/ws/json?token=sesame",
        (("send_json", {"hi": 1}), ("receive",), ("send_bytes", b"\x01\x02\x03"), ("receive",), ("receive",)),
    ),
    WS("dependency-refuses", "/ws/json?token=wrong", expect="close"),
    WS("subprotocol", "/ws/proto", (("receive",), ("receive",)), subprotocols=("chat.v1", "chat.v2")),
    WS("no-subprotocol", "/ws/proto", (("receive",), ("receive",))),
    WS("closed-before-accept", "/ws/closed", expect="close"),
    WS("denial-response", "/ws/denied", expect="deny"),
    WS("crash-after-accept", "/ws/crash", (("send_text", "boom"), ("await_end",)), expect="raise"),
    WS("path-param", "/ws/items/42", (("receive",), ("receive",))),
    WS("path-param-invalid", "/ws/items/abc", expect="close"),
    WS("no-such-route", "/ws/nowhere", expect="close"),
]
