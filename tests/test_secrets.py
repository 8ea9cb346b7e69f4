"""Secrets are hidden at the source: a unique secret planted in every place one travels
(tests/secrets_app.py) is found in no sink and no export, and with ``redact=False`` in all of them.

The app is served by a real uvicorn and sent real HTTP and WebSocket traffic;
each sink (Recorder, JSON Lines, console), each export and replay (through the
real command) and the TUI's panes are searched for every planted value.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import secrets_app
from rich.console import Console

from lifecycle_tracer import Recorder, instrument
from lifecycle_tracer.events import TraceEvent
from lifecycle_tracer.export import group, redacted
from lifecycle_tracer.export import mermaid as export_mermaid
from lifecycle_tracer.redaction import (
    REDACTED,
    RequestSecrets,
    header_pairs,
    is_secret_name,
    redact_json_text,
    redact_query,
    redact_raw,
    redact_url,
)
from lifecycle_tracer.server import ServerThread
from lifecycle_tracer.sinks import ConsoleSink, JsonLinesSink, read_jsonl

PLANTED = secrets_app.PLANTED
REQUESTS = 26  # requests and WebSocket sessions secrets_app.fire() makes


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lifecycle_tracer", *args], capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)


def _record(folder: Path, redact: bool) -> dict[str, str]:
    """Serve secrets_app traced, fire every planted secret, and return what each place shows, by name."""
    import importlib

    app = importlib.reload(secrets_app).app  # a fresh app (and tracer) for each mode
    rec, buf = Recorder(), io.StringIO()
    recording = folder / "trace.jsonl"
    console, jsonl = ConsoleSink(Console(file=buf, width=200, force_terminal=True)), JsonLinesSink(recording)
    tracer = instrument(app, sink=rec, redact=redact)
    tracer.add_sink(console)
    tracer.add_sink(jsonl)
    try:
        with ServerThread(app, log_level="critical") as server:
            secrets_app.fire(server.url)
            assert rec.wait_for(lambda _: rec.completed_count() >= REQUESTS, timeout=30), rec.completed()
    finally:
        for sink in (console, jsonl):
            tracer.remove_sink(sink)
            sink.close()
    seen = {
        "recorder": "\n".join(json.dumps(e.to_dict()) + e.name + e.explain for e in rec.events),
        "jsonl": recording.read_text(encoding="utf-8"),
        "console": buf.getvalue(),
    }
    show = [] if redact else ["--show-secrets"]
    html = folder / "trace.html"
    assert _cli("export", str(recording), "-f", "html", "-o", str(html), *show).returncode == 0
    seen["html"] = html.read_text(encoding="utf-8")
    # One request through the real command, every request through the same export function.
    events = read_jsonl(recording)
    rids = list(dict.fromkeys(e.request_id for e in events if e.detail.get("type") != "lifespan"))
    out = folder / "one.mmd"
    assert _cli("export", str(recording), "-f", "mermaid", "--request", rids[0], "-o", str(out), *show).returncode == 0
    groups = group(events if not redact else redacted(events))
    mermaid = [out.read_text(encoding="utf-8"), *(export_mermaid(groups[rid]) for rid in rids)]
    seen["mermaid"] = "\n".join(mermaid)
    replay = _cli("replay", str(recording), "--plain", *show)
    assert replay.returncode == 0, replay.stderr
    seen["replay"] = replay.stdout
    return seen


@pytest.fixture(scope="module")
def hidden(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return _record(tmp_path_factory.mktemp("hidden"), redact=True)


@pytest.fixture(scope="module")
def shown(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return _record(tmp_path_factory.mktemp("shown"), redact=False)


PLACES = ["recorder", "jsonl", "console", "html", "mermaid", "replay"]


@pytest.mark.parametrize("place", PLACES)
def test_no_planted_secret_reaches_any_sink_or_export(hidden: dict[str, str], place: str) -> None:
    leaked = sorted(where for where, secret in PLANTED.items() if secret in hidden[place])
    assert leaked == [], f"{place} shows the secrets planted in {leaked}"
    assert REDACTED in hidden[place] or place == "mermaid"


def test_with_redaction_off_every_planted_secret_is_recorded(shown: dict[str, str]) -> None:
    for place in ("recorder", "jsonl", "html"):
        missing = sorted(where for where, secret in PLANTED.items() if secret not in shown[place])
        assert missing == [], f"with redact=False, {place} lacks the secrets planted in {missing}"


def test_a_recording_made_with_secrets_is_hidden_again_on_replay_and_export(
        shown: dict[str, str], tmp_path: Path) -> None:
    """A recording made with --show-secrets is shown and exported without them unless asked."""
    recording = tmp_path / "shown.jsonl"
    recording.write_text(shown["jsonl"], encoding="utf-8")
    replay = _cli("replay", str(recording), "--plain")
    html = tmp_path / "x.html"
    assert _cli("export", str(recording), "-f", "html", "-o", str(html)).returncode == 0
    for place, text in (("replay", replay.stdout), ("html", html.read_text(encoding="utf-8"))):
        leaked = sorted(where for where, secret in PLANTED.items() if secret in text)
        assert leaked == [], f"{place} of a --show-secrets recording shows {leaked}"


@pytest.mark.anyio
async def test_the_tui_shows_no_planted_secret(tmp_path: Path, hidden: dict[str, str]) -> None:
    from lifecycle_tracer.tui.app import TracerApp
    from lifecycle_tracer.tui.controllers import ReplayController
    from lifecycle_tracer.tui.panes import DetailPane, History, Pipeline, Waterfall

    events = [TraceEvent.from_dict(json.loads(line)) for line in hidden["jsonl"].splitlines() if line.strip()]
    app = TracerApp(ReplayController(events, title="secrets"))
    screens: list[str] = []
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        for rid in list(app.store.requests):
            app.selected = rid
            for i in range(len(app.current_events())):
                app.cursor = i
                app.refresh_request()
                screens.extend(_plain(app.query_one(w).content) for w in (DetailPane, Pipeline, Waterfall))
        screens.append(str(app.query_one(History).row_ids()))
        screens.append(app.export_screenshot())
    text = "\n".join(screens)
    assert "authorization" in text and REDACTED in text
    leaked = sorted(where for where, secret in PLANTED.items() if secret in text)
    assert leaked == [], f"the TUI shows the secrets planted in {leaked}"


def _plain(renderable: Any) -> str:
    console = Console(width=2000, file=io.StringIO(), color_system=None, highlight=False)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined,no-any-return]


# -- the rules, as a table ----------------------------------------------------------------

@pytest.mark.parametrize("name", [
    "password", "Password", "passwd", "pwd", "passphrase", "pin", "otp", "secret", "client_secret", "token",
    "access_token", "refresh_token", "id_token", "X-Token", "x-auth-token", "x-csrf-token", "api-token",
    "x-amz-security-token", "private-token", "api_key", "apikey", "X-API-Key", "x-key", "key", "private_key",
    "privateKey", "jwt", "session", "sessionid", "JSESSIONID", "credentials", "cvv", "authorization",
    "accessToken", "signature", "x-hub-signature-256", "new_password", "Authentication", "X-Upstream-Bearer",
    "DPoP", "X-Shopify-Hmac-Sha256", "X-Api-Keys", "api_keys", "bearer", "ticket", "client_assertion",
])
def test_names_that_carry_a_secret(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize("name", [
    "token_type", "username", "email", "q", "limit", "item_id", "ping", "spinner", "mapping", "keyboard",
    "primary_key_name", "monkey", "content-type", "user-agent", "accept", "host", "shipping", "topic",
    "ticket_id", "support_ticket", "keys", "sort_keys", "primary_keys", "authentication_method", "bearer_format",
    "max-keys", "num_keys",
])
def test_names_that_do_not(name: str) -> None:
    assert not is_secret_name(name)


def test_query_strings_and_urls_keep_everything_but_the_secret() -> None:
    secrets = RequestSecrets()
    assert redact_query("q=1&token=abc%2Bdef&x=", secrets.learn) == f"q=1&token={REDACTED}&x="
    assert {"abc%2Bdef", "abc+def"} <= secrets.values
    assert redact_url("/next?a=1&api_key=zz99#access_token=qq88") == f"/next?a=1&api_key={REDACTED}#access_token={REDACTED}"
    assert redact_url("https://ann:hunter22@db.example/x") == f"https://ann:{REDACTED}@db.example/x"
    assert redact_url("/plain/path") == "/plain/path"
    # A URL, or pairs, inside a query value: hidden in the value as it was sent, whatever its escaping.
    assert redact_query("next=https://ann:pw123456@h/x&a=1") == f"next=https://ann:{REDACTED}@h/x&a=1"
    assert redact_query("r=%2Fcb%23access_token%3Dqq88zz") == f"r=%2Fcb%23access_token%3D{REDACTED}"
    assert redact_query("a=1;token=qq88zz") == f"a=1;token={REDACTED}"
    assert redact_query("t=12:30&email=a@b.c&q=a+b") == "t=12:30&email=a@b.c&q=a+b"


def test_a_urls_userinfo_is_hidden_in_any_text() -> None:
    secrets = RequestSecrets()
    assert (redact_raw("could not connect to postgresql://app:hunter22@db:5432/prod", secrets.learn)
            == f"could not connect to postgresql://app:{REDACTED}@db:5432/prod")
    assert redact_raw("redis://:s3cr3t99@cache:6379/0") == f"redis://:{REDACTED}@cache:6379/0"
    assert redact_raw("clone https://ghp_0123456789abcdef@github.com/x") == f"clone https://{REDACTED}@github.com/x"
    assert "hunter22" in secrets.values  # and masked wherever else it shows up in the request
    assert redact_raw("write to ann@example.com or see https://example.com/a@b") == (
        "write to ann@example.com or see https://example.com/a@b")


def test_raw_text_that_failed_to_parse_keeps_its_shape() -> None:
    assert redact_raw('{"user": "ann", "password": "hunter22", }') == f'{{"user": "ann", "password": "{REDACTED}", }}'
    assert redact_raw("username=ann&pin=1234") == f"username=ann&pin={REDACTED}"
    assert redact_raw("password: 'x y'") == f"password: '{REDACTED}'"
    assert redact_raw('{"password": "unterminated') == f'{{"password": "{REDACTED}'
    assert redact_json_text('{"a": [{"b": {"otp": 123456}}]}') == f'{{"a": [{{"b": {{"otp": "{REDACTED}"}}}}]}}'
    assert redact_raw("nothing secret here") == "nothing secret here"


def test_headers_keep_the_part_that_teaches() -> None:
    secrets = RequestSecrets(extra=frozenset({"x-tenant-code"}))
    pairs = header_pairs([(b"authorization", b"Bearer abc.def.ghi"),
                          (b"cookie", b"theme=dark; session=s3ss10n-42; tracker=0123456789abcdef; nameless"),
                          (b"set-cookie", b"sid=s3ss-5566; Path=/; HttpOnly"), (b"x-tenant-code", b"T-99812"),
                          (b"location", b"https://app.example/cb#access_token=t0k3n-77&token_type=bearer"),
                          (b"sec-websocket-protocol", b"graphql-ws, base64url.bearer.authorization.k8s.io.dG9rZW4xMjM"),
                          (b"accept", b"*/*")], secrets)
    assert pairs == [["authorization", f"Bearer {REDACTED}"],
                     ["cookie", f"theme={REDACTED}; session={REDACTED}; tracker={REDACTED}; {REDACTED}"],
                     ["set-cookie", f"sid={REDACTED}; Path=/; HttpOnly"], ["x-tenant-code", REDACTED],
                     ["location", f"https://app.example/cb#access_token={REDACTED}&token_type=bearer"],
                     ["sec-websocket-protocol", f"graphql-ws, {REDACTED}"], ["accept", "*/*"]]
    assert {"abc.def.ghi", "s3ss10n-42", "0123456789abcdef", "s3ss-5566", "T-99812", "t0k3n-77",
            "dG9rZW4xMjM"} <= secrets.values
    # Every cookie is hidden, but "dark" (a blanket rule, a short value) is not masked elsewhere.
    assert "dark" not in secrets.values


def test_a_value_hidden_once_is_masked_everywhere_else_but_not_short_ones() -> None:
    secrets = RequestSecrets()
    secrets.learn("tok-12345")
    secrets.learn("3600")  # too short to mask by value: it would hide innocent text
    detail: dict[str, Any] = {"output": {"echo": "you sent tok-12345"}, "n": 1, "list": ["3600", "tok-12345"]}
    masked = secrets.mask(detail)
    assert masked == {"output": {"echo": f"you sent {REDACTED}"}, "n": 1, "list": ["3600", REDACTED]}
    assert detail["output"]["echo"] == "you sent tok-12345"  # the hooks' own (maybe cached) facts are not edited
    untouched = {"a": "b"}
    assert secrets.mask(untouched) is untouched


@pytest.mark.anyio
async def test_secrets_in_exception_messages_are_hidden_by_name() -> None:
    from fastapi import FastAPI, HTTPException
    from helpers import Traced

    app = FastAPI()

    @app.get("/login")
    async def login() -> None:
        raise ValueError("login failed: password=hunter2-9 for ann")

    @app.get("/deny")
    async def deny() -> None:
        raise HTTPException(status_code=403, detail={"reason": "expired", "token": "tok-998877"})

    traced = Traced(app)
    try:
        with pytest.raises(ValueError):
            await traced.request("GET", "/login")
        _, denied = await traced.request("GET", "/deny")
    finally:
        await traced.aclose()
    dumped = json.dumps([e.to_dict() for e in traced.rec.events])
    assert "hunter2-9" not in dumped and "tok-998877" not in dumped
    assert "login failed: password=[redacted] for ann" in dumped
    assert "expired" in json.dumps([e.to_dict() for e in denied])


def test_a_preview_cut_short_inside_a_secret_hides_the_part_it_kept() -> None:
    from lifecycle_tracer.redaction import truncate

    token = "tok" + "x9" * 200
    secrets = RequestSecrets()
    secrets.learn(token)
    cut = truncate("you sent " + token)
    assert token[:50] in cut
    masked = secrets.mask_str(cut)
    assert masked.startswith(f"you sent {REDACTED}… (+") and "x9x9" not in masked


def test_turning_redaction_off_on_a_traced_app_warns_that_every_sink_gets_secrets() -> None:
    from fastapi import FastAPI

    from lifecycle_tracer import uninstrument

    app = FastAPI()
    first = Recorder()
    tracer = instrument(app, sink=first)
    try:
        with pytest.warns(RuntimeWarning, match=r"every sink .*\(Recorder\)"):
            assert instrument(app, sink=Recorder(), redact=False) is tracer
        assert tracer.redact is False and len(tracer.sinks) == 2
    finally:
        uninstrument(app)
    bare = FastAPI()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no other sink: nothing to warn about
        instrument(bare, redact=True)
        instrument(bare, sink=Recorder(), redact=False)
    uninstrument(bare)
