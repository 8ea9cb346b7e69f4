"""Lesson 12, exercise echo-token: one way to solve it.

Until the app accepts, the client is still waiting for the answer to its
HTTP handshake, so a close sent then refuses the handshake: the server
answers HTTP 403 and no WebSocket ever opens. Checking the token before
`accept()` refuses the client without one, and lets the one with the token in.
"""

# ── exercise echo-token: your code starts here ──
@app.websocket("/echo")
async def echo(websocket: WebSocket, token: str | None = None) -> None:
    if token != ECHO_TOKEN:
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason="a token is required")
        return
    await websocket.accept()
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect:
        pass  # the client left
# ── exercise echo-token: your code ends here ──
