"""An app a user might trace, with a unique secret planted in every place a secret travels.

``PLANTED`` maps a place to the secret sent there; ``fire(base_url)`` sends
every request (HTTP and WebSocket) that carries them. Each value is unique, so
finding it in a sink names the place it leaked from.
"""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any

from fastapi import (
    APIRouter,
    Cookie,
    Depends,
    FastAPI,
    Form,
    Header,
    Path,
    Query,
    Request,
    WebSocket,
)
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, StreamingResponse
from fastapi.security import APIKeyHeader, HTTPBasic, HTTPBasicCredentials, HTTPBearer, OAuth2PasswordBearer
from pydantic import BaseModel

PLANTED: dict[str, str] = {
    place: f"S3CR3T{n:02d}{place.replace('-', '').replace('_', '')[:10]}Q"
    for n, place in enumerate([
        "req-authorization", "req-cookie", "req-x-api-key",
        "q-api_key", "q-token", "q-access_token", "q-declared-token",
        "h-x-token", "h-x-auth-token", "h-x-access-token", "h-x-csrf-token", "h-api-token",
        "h-x-amz-security-token", "h-private-token", "h-x-key",
        "json-deep", "json-malformed", "ws-json", "ws-raw", "stream-chunk", "location",
        "path-token", "cookie-echo", "query-model", "cookie-model",
        "pwd", "passphrase", "pin", "otp", "private_key", "jwt", "session", "credentials", "cvv",
        "exc-message", "response-echo", "form-password", "bearer", "basic-password", "oauth-form",
        "sse-token", "header-model", "path-prefix", "path-alias", "h-router-key",
        "q-url-userinfo", "q-url-encoded", "q-semicolon", "json-dsn", "json-api-keys", "exc-dsn", "challenge",
        "h-authentication", "h-upstream-bearer", "h-scheme-value", "h-hmac", "h-json-value",
    ])
}
S = PLANTED

app = FastAPI()
key_scheme = APIKeyHeader(name="x-key")
bearer = HTTPBearer()
basic = HTTPBasic()
oauth2 = OAuth2PasswordBearer(tokenUrl="token")


@app.get("/scope")
async def whole_request(request: Request) -> dict[str, str]:
    return {"path": request.url.path}


@app.get("/query")
async def query(token: str, q: str = "") -> dict[str, int]:
    return {"length": len(token)}


@app.get("/headers")
async def headers(x_token: Annotated[str, Header()], key: str = Depends(key_scheme)) -> dict[str, int]:
    return {"length": len(x_token) + len(key)}


@app.get("/dsn")
async def dsn() -> None:  # a secret of the app's own, in a connection string: not the client's
    raise RuntimeError(f"could not connect to postgresql://app:{S['exc-dsn']}@db.internal:5432/prod")


@app.get("/challenge")
async def challenge() -> None:
    from fastapi import HTTPException

    raise HTTPException(401, headers={"WWW-Authenticate": f'Bearer error="invalid_token", token="{S["challenge"]}"'})


@app.post("/json")
async def json_body(payload: dict[str, Any]) -> dict[str, Any]:
    return {"keys": sorted(payload)}


class Login(BaseModel):
    user: str
    password: str


@app.post("/login")
async def login(body: Login) -> dict[str, str]:
    return {"user": body.user}


class Card(BaseModel):
    pwd: str
    passphrase: str
    pin: str
    otp: str
    private_key: str
    jwt: str
    session: str
    credentials: str
    cvv: str


@app.post("/card")
async def card(body: Card) -> dict[str, str]:
    return {"ok": "yes"}


@app.websocket("/ws")
async def ws(websocket: WebSocket) -> None:
    await websocket.accept()
    for _ in range(2):
        text = await websocket.receive_text()
        await websocket.send_text(text)
    await websocket.close()


@app.get("/stream")
async def stream() -> StreamingResponse:
    async def chunks() -> Any:
        yield "first line\n"
        yield f"token={S['stream-chunk']}\n"
        yield "last line\n"

    return StreamingResponse(chunks(), media_type="text/plain")


@app.get("/sse")
async def sse() -> StreamingResponse:
    async def events() -> Any:
        yield 'data: {"kind": "hello"}\n\n'
        yield f'data: {{"access_token": "{S["sse-token"]}"}}\n\n'

    return StreamingResponse(events(), media_type="text/event-stream")


@app.get("/go")
async def go() -> RedirectResponse:
    return RedirectResponse(f"/landing?next=%2Fhome&token={S['location']}")


@app.get("/reset/{token}")
async def reset(token: str) -> dict[str, int]:
    return {"length": len(token)}


@app.get("/alias/{t}")
async def alias(secret_value: Annotated[str, Path(alias="t")]) -> dict[str, int]:  # the URL's name is not secret
    return {"length": len(secret_value)}


# A path parameter in an included router's prefix, and an API key declared only inside that router:
# FastAPI >= 0.163 keeps the router whole (``_IncludedRouter``) and adds the prefix when it routes.
tenant = APIRouter(prefix="/tenants/{api_token}")
router_key = APIKeyHeader(name="x-tenant")  # a name nothing else marks as secret


@tenant.get("/items")
async def tenant_items(api_token: str, key: Annotated[str, Depends(router_key)]) -> dict[str, int]:
    return {"length": len(api_token) + len(key)}


app.include_router(tenant)


@app.get("/whoami")
async def whoami(session: Annotated[str, Cookie()]) -> dict[str, str]:
    return {"session": session}


class Filters(BaseModel):
    limit: int = 10
    token: str


@app.get("/model")
async def query_model(filters: Annotated[Filters, Query()]) -> dict[str, int]:
    return {"limit": filters.limit}


class Prefs(BaseModel):
    theme: str = "dark"
    tracker: str


@app.get("/prefs")
async def cookie_model(prefs: Annotated[Prefs, Cookie()]) -> dict[str, str]:
    return {"theme": prefs.theme}


class Auth(BaseModel):
    x_session_id: str


@app.get("/header-model")
async def header_model(auth: Annotated[Auth, Header()]) -> dict[str, int]:
    return {"n": len(auth.x_session_id)}


@app.get("/boom")
async def boom(x_auth_token: Annotated[str, Header()]) -> None:
    raise ValueError(f"token {x_auth_token} was refused by the upstream")


@app.get("/echo")
async def echo(x_access_token: Annotated[str, Header()]) -> PlainTextResponse:
    return PlainTextResponse(f"you sent {x_access_token}")


@app.post("/form")
async def form(username: Annotated[str, Form()], password: Annotated[str, Form()]) -> dict[str, str]:
    return {"username": username}


@app.get("/bearer")
async def bearer_route(creds: Any = Depends(bearer)) -> dict[str, str]:
    return {"scheme": creds.scheme}


@app.get("/basic")
async def basic_route(creds: HTTPBasicCredentials = Depends(basic)) -> dict[str, str]:
    return {"user": creds.username}


@app.get("/oauth")
async def oauth_route(token: str = Depends(oauth2)) -> JSONResponse:
    return JSONResponse({"n": len(token)})


def fire(base_url: str) -> None:
    """Send every planted secret once, over real HTTP and a real WebSocket."""
    import httpx
    from websockets.sync.client import connect

    # A fresh connection per request: after the 500 from /boom the server may close its end.
    no_reuse = httpx.Limits(max_keepalive_connections=0)
    with httpx.Client(base_url=base_url, follow_redirects=False, timeout=10, limits=no_reuse) as c:
        c.get("/scope", headers={"authorization": f"Bearer {S['req-authorization']}",
                                 "cookie": f"sid={S['req-cookie']}", "x-api-key": S["req-x-api-key"]})
        c.get(f"/query?token={S['q-declared-token']}&api_key={S['q-api_key']}"
              f"&access_token={S['q-access_token']}&q=hello")
        c.get(f"/query?q=x&token={S['q-token']}&next=https://ann:{S['q-url-userinfo']}@example.com/x"
              f"&back=https%3A%2F%2Fann%3A{S['q-url-encoded']}%40example.com&a=1;token={S['q-semicolon']}")
        c.get("/headers", headers={
            "x-token": S["h-x-token"], "x-auth-token": S["h-x-auth-token"], "x-access-token": S["h-x-access-token"],
            "x-csrf-token": S["h-x-csrf-token"], "api-token": S["h-api-token"],
            "x-amz-security-token": S["h-x-amz-security-token"], "private-token": S["h-private-token"],
            "x-key": S["h-x-key"], "authentication": f"Bearer {S['h-authentication']}",
            "x-upstream-bearer": S["h-upstream-bearer"], "x-forwarded-by": f"Bearer {S['h-scheme-value']}",
            "x-shopify-hmac-sha256": S["h-hmac"], "x-meta": json.dumps({"token": S["h-json-value"]})})
        c.post("/json", json={"a": {"b": {"c": {"d": {"e": {"password": S["json-deep"]}}}}},
                              "dsn": f"mysql://root:{S['json-dsn']}@db/prod", "api_keys": [S["json-api-keys"]]})
        c.get("/dsn")
        c.get("/challenge")
        c.post("/login", content=f'{{"user": "ann", "password": "{S["json-malformed"]}", }}',
               headers={"content-type": "application/json"})
        c.post("/card", json={k: S[k] for k in ("pwd", "passphrase", "pin", "otp", "private_key", "jwt",
                                                "session", "credentials", "cvv")})
        c.get("/stream")
        c.get("/sse")
        c.get("/go")
        c.get(f"/reset/{S['path-token']}")
        c.get("/whoami", headers={"cookie": f"session={S['cookie-echo']}"})
        c.get(f"/alias/{S['path-alias']}")
        c.get(f"/tenants/{S['path-prefix']}/items", headers={"x-tenant": S["h-router-key"]})
        c.get(f"/model?limit=3&token={S['query-model']}")
        c.get("/prefs", headers={"cookie": f"theme=light; tracker={S['cookie-model']}"})
        c.get("/header-model", headers={"x-session-id": S["header-model"]})
        c.get("/boom", headers={"x-auth-token": S["exc-message"]})
        c.get("/echo", headers={"x-access-token": S["response-echo"]})
        c.post("/form", data={"username": "ann", "password": S["form-password"]})
        c.get("/bearer", headers={"authorization": f"Bearer {S['bearer']}"})
        basic_value = base64.b64encode(f"ann:{S['basic-password']}".encode()).decode()
        c.get("/basic", headers={"authorization": f"Basic {basic_value}"})
        c.get("/oauth", headers={"authorization": f"Bearer {S['oauth-form']}"})
    ws_url = base_url.replace("http://", "ws://") + "/ws"
    with connect(ws_url) as sock:
        sock.send(json.dumps({"type": "auth", "token": S["ws-json"]}))
        sock.recv()
        sock.send(f"password={S['ws-raw']}")
        sock.recv()
