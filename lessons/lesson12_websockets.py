"""Lesson 12: WebSockets.

An HTTP request gets one response and is over. A WebSocket starts as an
HTTP request too (a "handshake"), but once the app accepts it, the
connection stays open and both sides can send messages whenever they like,
until one of them closes it.

The chat app below goes through the same routing, dependencies and
validation as an HTTP endpoint, and the trace shows the conversation too:
accept, each message in and out, and the close.
"""

import json
from typing import Annotated

from fastapi import Cookie, Depends, FastAPI, WebSocket, WebSocketDisconnect, WebSocketException, status

from lifecycle_tracer.course import (
    Exercise,
    Lesson,
    Question,
    Step,
    WebSocketRequest,
    count,
    custom,
    has,
    lacks,
    order,
)

app = FastAPI(title="Chat")

SESSIONS = {"s-3c9d0e": "ada"}  # session cookie -> user; a real app keeps these in a store


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
                await websocket.close(code=status.WS_1000_NORMAL_CLOSURE)
                return
            await websocket.send_text(f"{user}@{room}: {text}")
    except WebSocketDisconnect:
        pass  # the client left; there is nothing more to do


ECHO_TOKEN = "t-5e1f2a"  # the one token /echo lets in; a real app checks tokens against a store


# ── exercise echo-token: your code starts here ──
@app.websocket("/echo")
async def echo(websocket: WebSocket, token: str | None = None) -> None:
    await websocket.accept()
    if token != ECHO_TOKEN:
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason="a token is required")
        return
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect:
        pass  # the client left
# ── exercise echo-token: your code ends here ──


# --- the lesson -----------------------------------------------------------

LOGGED_IN = {"Cookie": "session=s-3c9d0e"}


def client_saw(status_code, received, close_code):
    """A check on what the WebSocket client saw."""

    def test(r):
        got = (r.response.status_code, r.response.received, r.response.close_code)
        return got == (status_code, received, close_code) or f"the client saw status, messages, close code = {got}"

    return test


def refused(r):
    """The first client (no token) never got a WebSocket: an HTTP 403 instead of 101."""
    seen = r.responses[0]
    return (seen.status_code, seen.close_code) == (403, None) or (
        f"the client saw status {seen.status_code} and close code {seen.close_code}"
    )


def echoed(r):
    seen = r.responses[1]
    got = (seen.status_code, seen.received, seen.close_code)
    return got == (101, ["hi"], 1000) or f"the client with the token saw status, messages, close code = {got}"


def cookie_hidden(r):
    dumped = json.dumps([e.to_dict() for e in r.events])
    return "s-3c9d0e" not in dumped or "the session cookie appears in the trace"


LESSON = Lesson(
    id="lesson12",
    title="WebSockets",
    topics=["websocket", "routing", "dependency", "exception"],
    goals=[
        "Follow a WebSocket's life: handshake, accept, messages both ways, close.",
        "See when routing, dependencies and validation run for a WebSocket, and how often.",
        "Tell who closed a connection, and with which code.",
        "Refuse a connection before accepting it, and see what the client gets.",
    ],
    steps=[
        Step(
            title="Open, talk, close",
            narration="""
The client opens `ws://…/ws/lobby` with Ada's session cookie, sends one
message, `hello`, reads the reply and closes.

The handshake is routed like any request: `/ws/{room}` matches, `room`
is validated, and `chat` needs the `get_user` dependency, which reads the
cookie. `chat` calls `websocket.accept()`, which first reads the client's
**connect** message, then **accepts**. After accept come **receive**,
**send**, and the client's **disconnect** (code 1000, a normal close).
""",
            request=WebSocketRequest("/ws/lobby", send=["hello"], headers=LOGGED_IN),
            look_for=["routing", "dependency", "websocket"],
            question=Question(
                prompt="get_user checks the session cookie. When does it run?",
                choices=[
                    "Before the connection is accepted",
                    "After accept, before the first message",
                    "Once for every message",
                ],
                answer=0,
                why="Dependencies are solved during the handshake, with routing and validation, before your "
                "function runs and calls accept().",
            ),
            hints=[
                "Find the ▶ dependency line and the ◆ accept line: which comes first?",
                "An HTTP request ends with ▶ response; what does this trace have instead?",
            ],
            checks=[
                custom(
                    "the client was accepted (101), got one reply and closed normally (1000)",
                    client_saw(101, ["ada@lobby: hello"], 1000),
                ),
                has("routing", matched=True, route="/ws/{room}"),
                order(
                    ("routing",),
                    ("dependency", "start", "get_user"),
                    ("websocket", "point", "connect"),
                    ("websocket", "point", "accept"),
                    ("websocket", "point", "receive"),
                    ("websocket", "point", "send"),
                    ("websocket", "point", "disconnect"),
                ),
                has("validation", name="room", location="path", value="lobby"),
                has("websocket", name="receive", direction="in", text="hello"),
                has("websocket", name="send", direction="out", text="ada@lobby: hello"),
                has("websocket", name="disconnect", direction="in", code=1000),
                lacks("serialization"),
                lacks("response"),
                custom("the session cookie's value appears nowhere in the trace", cookie_hidden),
            ],
        ),
        Step(
            title="A longer conversation",
            narration="""
This time the client sends three messages: `hi`, `anyone here?` and `/quit`.
Each one is a **receive** followed by the app's **send**, all inside the
same connection, so the dependencies ran only **once**. What `chat` does
with `/quit` is in its code above.
""",
            request=WebSocketRequest("/ws/lobby", send=["hi", "anyone here?", "/quit"], headers=LOGGED_IN),
            look_for=["dependency", "websocket"],
            question=Question(
                prompt="Who ends the connection this time?",
                choices=["The client, with a disconnect", "The app, with a close", "Nobody: it times out"],
                answer=1,
                why="On /quit, chat says bye! and calls websocket.close(code=1000). The close event's direction "
                "is out: the app closed it. There is no disconnect from the client.",
            ),
            hints=["Look at the last ◆ websocket line: is its direction in (from the client) or out (from the app)?"],
            checks=[
                custom(
                    "the client got three replies and the close code 1000",
                    client_saw(101, ["ada@lobby: hi", "ada@lobby: anyone here?", "bye!"], 1000),
                ),
                count(1, "dependency", "start", "get_user"),
                count(1, "websocket", "point", "accept"),
                count(3, "websocket", "point", "receive"),
                count(3, "websocket", "point", "send"),
                has("websocket", name="close", direction="out", code=1000),
                lacks("websocket", name="disconnect"),
                has("request", "end", close_code=1000),
            ],
        ),
        Step(
            title="Refused before accept",
            narration="""
Now a client with **no** session cookie. `get_user` raises
`WebSocketException(code=1008)` ("policy violation"), so `chat` never runs
and never accepts. Starlette's built-in handler for it **closes** the
WebSocket before it was ever accepted.

But there is no WebSocket yet: the client is still waiting for the answer
to its HTTP handshake. What does it get?
""",
            request=WebSocketRequest("/ws/lobby", send=["hi"]),
            look_for=["dependency", "exception", "websocket"],
            question=Question(
                prompt="What does the client see?",
                choices=[
                    "A WebSocket that opens, then closes with code 1008",
                    "An HTTP 403 answer to its handshake, and no WebSocket at all",
                    "An HTTP 401, as for a missing bearer token",
                ],
                answer=1,
                why="A close before accept refuses the handshake; the server (uvicorn) answers it with HTTP 403.",
            ),
            hints=[
                "Is there a ◆ accept line in this trace?",
                "Without accept, the client never got a WebSocket, so it cannot receive a close code: it gets an HTTP status.",
            ],
            checks=[
                custom("the client got HTTP 403, no messages and no close code", client_saw(403, [], None)),
                has("validation", name="session", location="cookie", sent=False),
                has("dependency", "end", "get_user", raised="fastapi.exceptions.WebSocketException"),
                has("exception", name="WebSocketException", handled=True),
                has("websocket", name="close", direction="out", code=1008, reason="log in first"),
                lacks("websocket", name="accept"),
                lacks("websocket", name="receive"),
            ],
        ),
        Exercise(
            title="Keep clients without a token out of /echo",
            narration=f"""
Your turn. `/echo` sends each message back, but only to clients that bring
the token: `ws://…/echo?token={ECHO_TOKEN}`. Today a client **without**
the token gets in first: its handshake succeeds, and only afterwards is the
WebSocket closed. Change `echo` so that such a client is refused the way
step 3 refused a client without a session: no WebSocket at all, an HTTP 403
for its handshake, and the app's close with code 1008 (policy violation)
in the trace. A client with the token must still get its message back.

The step opens two connections at once: one without the token, one with it.
""",
            region="echo-token",
            request=[
                WebSocketRequest("/echo", send=["hi"]),
                WebSocketRequest(f"/echo?token={ECHO_TOKEN}", send=["hi"]),
            ],
            look_for=["validation", "websocket"],
            hints=[
                "Read the first trace (no token): which comes first, the ◆ accept line or the ◆ close line?",
                "A close sent before accept refuses the handshake (step 3); after accept, a close can only end "
                "a WebSocket the client already has.",
                "Decide about the token before `await websocket.accept()`: move the `if token != ECHO_TOKEN:` "
                "block above it.",
            ],
            checks=[
                custom("without the token, the client gets HTTP 403 and no WebSocket", refused),
                lacks("websocket", name="accept"),
                has("websocket", name="close", direction="out", code=1008),
                custom("with the token, the client is accepted (101), gets its message back and closes normally",
                       echoed),
            ],
        ),
    ],
    summary="""
A WebSocket is one long "request": routing, dependencies and validation run
once, during the handshake, before your function accepts. After `accept()`,
the trace is a conversation of **receive** and **send** events, with no
response or serialization stage, until a **close** from the app or a
**disconnect** from the client (code 1000 is a normal close). Closing before
accepting refuses the handshake: the client gets HTTP 403, never a
WebSocket, and never sees the close code or reason.

Next lesson: what is behind a route, custom route classes, mounted apps,
and the app's lifespan.
""",
)
