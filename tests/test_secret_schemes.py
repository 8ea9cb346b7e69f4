"""An Authorization credential written into free text is hidden, not just its scheme word.

``Authorization: Bearer x`` in an exception's message, an HTTPException's detail,
a JSON string or a WebSocket frame keeps the scheme (as the header view does)
and hides the credential, which the request then masks wherever else it shows.
"""

from __future__ import annotations

import json

import httpx
import pytest
from fastapi import FastAPI, HTTPException, WebSocket

from lifecycle_tracer import Recorder, instrument
from lifecycle_tracer.redaction import REDACTED, RequestSecrets, redact_json_text, redact_raw
from lifecycle_tracer.server import ServerThread


@pytest.mark.parametrize(("text", "shown", "credential"), [
    ("Authorization: Bearer S3CRET-300", f"Authorization: Bearer {REDACTED}", "S3CRET-300"),
    ("Authorization=Bearer S3CRET-301", f"Authorization=Bearer {REDACTED}", "S3CRET-301"),
    ("authorization: bearer s3cret-302", f"authorization: bearer {REDACTED}", "s3cret-302"),
    ("Proxy-Authorization: Basic YWxhZGRpbjpvcGVu==", f"Proxy-Authorization: Basic {REDACTED}", "YWxhZGRpbjpvcGVu=="),
    ("sent Authorization: Token tk-9999999, retry", f"sent Authorization: Token {REDACTED}, retry", "tk-9999999"),
    ('Authorization: Digest username="ann", response="6629fae49393a05397450978507c4ef1" sent',
     f"Authorization: Digest {REDACTED} sent", "6629fae49393a05397450978507c4ef1"),
    ("(Authorization: Bearer abc.def.ghi).", f"(Authorization: Bearer {REDACTED}).", "abc.def.ghi"),
    # An unknown first word may be the credential itself: both words go.
    ("Authorization: S3CRET-303 was refused", f"Authorization: {REDACTED} refused", "S3CRET-303"),
    ("Authorization: Custom S3CRET-custom-304", f"Authorization: {REDACTED}", "S3CRET-custom-304"),
    # Under another secret name the scheme word may be the value: hidden with what follows.
    ("token: Bearer S3CRET-305", f"token: {REDACTED}", "S3CRET-305"),
    ("{'Authorization': 'Bearer S3CRET-306'}", f"{{'Authorization': '{REDACTED}'}}", "S3CRET-306"),
])
def test_an_authorization_credential_in_text_is_hidden_and_learned(text: str, shown: str, credential: str) -> None:
    secrets = RequestSecrets()
    assert redact_raw(text, secrets.learn) == shown
    assert credential in secrets.values  # masked wherever else it shows in the request
    assert secrets.mask_str(f"echo {credential}") == f"echo {REDACTED}"


def test_a_scheme_word_is_not_learned_and_plain_text_is_left() -> None:
    secrets = RequestSecrets()
    assert redact_raw("Authorization: Bearer", secrets.learn) == f"Authorization: {REDACTED}"
    assert "Bearer" not in secrets.values  # else the header view's "Bearer [redacted]" would lose its scheme
    # After an unknown first word, the next may be plain text: masked elsewhere only when token-long.
    assert redact_raw("Authorization: S3CRET-308 failed badly", secrets.learn) == f"Authorization: {REDACTED} badly"
    assert "S3CRET-308" in secrets.values and "failed" not in secrets.values
    for plain in ("error: not found", "note: Bearer of bad news", "status: Basic auth failed", "scheme=Bearer"):
        assert redact_raw(plain, secrets.learn) == plain
    # A traceback's source line: the annotation is hidden as before, the default after it is not a credential.
    assert redact_raw("def boom(authorization: str = Header()):") == f"def boom(authorization: {REDACTED} = Header()):"
    assert redact_json_text('{"msg": "sent Authorization: Bearer S3CRET-307"}') == (
        f'{{"msg": "sent Authorization: Bearer {REDACTED}"}}')


CRED = "S3CRET-upstream-300"
DETAIL = "S3CRET-detail-301"
BODY = "S3CRET-body-302"
FRAME = "S3CRET-frame-303"


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/upstream")
    async def upstream() -> None:
        raise RuntimeError(f"upstream returned 401; sent Authorization: Bearer {CRED}")

    @app.get("/detail")
    async def detail() -> None:
        raise HTTPException(status_code=502, detail=f"upstream refused Proxy-Authorization: Basic {DETAIL}")

    @app.post("/note")
    async def note(payload: dict) -> dict:
        return {"echo": payload["note"].rpartition(" ")[2]}  # the bare credential, under no secret name

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        text = await websocket.receive_text()
        await websocket.send_text(f"you sent {text.rpartition(' ')[2]}")
        await websocket.close()

    return app


def test_no_event_of_a_real_request_shows_an_authorization_credential_from_free_text() -> None:
    from websockets.sync.client import connect

    app, rec = _app(), Recorder()
    instrument(app, sink=rec)
    with ServerThread(app, log_level="critical") as server, httpx.Client(base_url=server.url) as client:
        # uvicorn drops the connection after an app's exception: a pooled one would be reset.
        assert client.get("/upstream", headers={"Connection": "close"}).status_code == 500
        assert client.get("/detail").status_code == 502
        echoed = client.post("/note", json={"note": f"retry with authorization: bearer {BODY}"})
        assert echoed.json() == {"echo": BODY}  # the app saw it: only the events hide it
        with connect(server.url.replace("http", "ws") + "/ws") as ws:
            ws.send(f"Authorization=Bearer {FRAME}")
            assert ws.recv(timeout=10) == f"you sent {FRAME}"
        assert rec.wait_for(lambda _: rec.completed_count() >= 4, timeout=30), rec.completed()
    dumped = json.dumps([e.to_dict() | {"name": e.name, "explain": e.explain} for e in rec.events])
    leaked = [secret for secret in (CRED, DETAIL, BODY, FRAME) if secret in dumped]
    assert leaked == [], dumped
    assert f"sent Authorization: Bearer {REDACTED}" in dumped  # the scheme still teaches
    assert f"Proxy-Authorization: Basic {REDACTED}" in dumped
    assert "upstream returned 401" in dumped
