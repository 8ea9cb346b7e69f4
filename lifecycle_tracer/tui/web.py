"""textual-serve's ``Server`` behind a guard, for ``--web``.

Unguarded, any page in the user's browser could open a WebSocket to the
server and drive the TUI (browsers let pages do that across sites), and each
socket starts a process. ``GuardedServer`` answers only:

- requests whose ``Host`` is its own address, so a DNS-rebinding page (a
  foreign name that resolves to 127.0.0.1) gets nothing;
- requests that carry the launch's token: in the URL it prints, or in the
  cookie the page gets when loaded with it. textual-serve's page builds the
  socket URL itself (``<url>?width=…``), so the token reaches the socket as
  that cookie: HttpOnly, SameSite=Strict, named after the port so two
  servers on one machine do not clash;
- WebSocket upgrades whose ``Origin`` is the server's own;
- at most ``max_sessions`` sockets at once with a process behind them.

A refused request gets HTTP 403 and a one-sentence body. A socket past the
cap gets no process: the sentence is written into the tab's terminal and the
socket stays idle until the tab goes, so the person sees why.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import secrets
from typing import Any

from aiohttp import web
from rich.markup import escape
from textual_serve.server import Server

log = logging.getLogger("lifecycle_tracer.web")

DEFAULT_SESSIONS = 4
LOOPBACK = ("127.0.0.1", "localhost")


def exposure_warning(host: str) -> str | None:
    """The warning to print when serving beyond this machine, or None on loopback."""
    try:
        if host.lower() == "localhost" or ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:  # a name: only "localhost" is known to stay on this machine without a lookup
        pass
    return (f"Warning: serving on {host} lets other machines reach the TUI; "
            "anyone who has the address with its token can drive it.")


# Keys reach the TUI only through the terminal's hidden text box: put the focus there once it exists,
# and again whenever it falls back to the page (a click on the page's margin, the Start button).
FOCUS_SCRIPT = """<script data-lifecycle-tracer="focus">
(function () {
  function box() { return document.querySelector("#terminal textarea"); }
  setInterval(function () {
    var b = box();
    if (b && (document.activeElement === document.body || document.activeElement === null)) { b.focus(); }
  }, 300);
  document.addEventListener("click", function () { var b = box(); if (b) { b.focus(); } });
})();
</script>
"""


class GuardedServer(Server):
    """A textual-serve ``Server`` that refuses foreign hosts, origins, missing tokens and extra sessions.

    ``host`` is also the one name the server answers to (besides localhost
    on loopback), so it must be the address browsers use: a wildcard such as
    0.0.0.0 would bind every interface and then refuse every request.
    """

    def __init__(self, command: str, *, host: str = "127.0.0.1", port: int, max_sessions: int = DEFAULT_SESSIONS,
                 title: str | None = None, token: str | None = None) -> None:
        if max_sessions < 1:
            raise ValueError("max_sessions must be at least 1")
        super().__init__(command, host=host, port=port, title=title)
        self.token = token or secrets.token_urlsafe(32)
        self.max_sessions = max_sessions
        self.sessions = 0  # sockets with a process behind them; only touched on the event loop
        self.cookie_name = f"lifecycle_tracer_{port}"
        names = LOOPBACK if host in LOOPBACK else (host,)
        default_port = port == 80  # browsers leave :80 out of Host and Origin
        self.hosts = {f"{n}:{port}" for n in names} | ({*names} if default_port else set())
        self.origins = {f"http://{h}" for h in self.hosts}

    @property
    def url(self) -> str:
        """The address to open: the page, with the token."""
        return f"{self.public_url}/?token={self.token}"

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self._guard_middleware())
        return app

    def _guard_middleware(self) -> Any:
        @web.middleware
        async def guard(request: web.Request, handler: Any) -> web.StreamResponse:
            if (refusal := self.refusal(request)) is not None:
                log.warning("lifecycle-tracer refused %s %s: %s", request.method, request.path, refusal)
                return web.Response(status=403, text=refusal + "\n")
            if request.path == "/" and request.headers.get("Host", "").lower() != self.public_url.split("//", 1)[1]:
                # The page points its socket at public_url; loaded under another name its cookie would
                # belong to that name and the socket would go without it.
                raise web.HTTPFound(self.public_url + request.path_qs)
            response = await handler(request)
            if request.path == "/" and self._good(request.query.get("token")):
                response.set_cookie(self.cookie_name, self.token, httponly=True, samesite="Strict", path="/")
                if isinstance(response, web.Response) and response.content_type == "text/html" and response.text:
                    response.text = response.text.replace("</body>", FOCUS_SCRIPT + "</body>", 1)
            return response

        return guard

    def _good(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(token.encode(), self.token.encode())

    def refusal(self, request: web.Request) -> str | None:
        """Why ``request`` is refused, as one sentence, or None if it may pass."""
        host = request.headers.get("Host", "").lower()
        if host not in self.hosts:
            return (f"This server only answers to {self.public_url}; "
                    "open the address lifecycle-tracer printed when it started.")
        if not (self._good(request.query.get("token")) or self._good(request.cookies.get(self.cookie_name))):
            return ("This page needs the token from the address lifecycle-tracer printed when it started "
                    "(…/?token=…); open that address.")
        if request.headers.get("Upgrade", "").lower() == "websocket":
            origin = request.headers.get("Origin")
            if origin is None or origin.lower() not in self.origins:
                return (f"Only this server's own page ({self.public_url}) may open a session, "
                        f"not {'a client that sends no Origin' if origin is None else origin}.")
        return None

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        if self.sessions >= self.max_sessions:
            return await self._turn_away(request)
        self.sessions += 1  # before the first await: two sockets arriving together cannot both pass
        try:
            return await super().handle_websocket(request)
        finally:
            self.sessions -= 1

    async def _turn_away(self, request: web.Request) -> web.WebSocketResponse:
        sentence = (f"The most browser sessions this server runs at once ({self.max_sessions}, set with "
                    "--web-sessions) are already open; close one of their tabs, then reload this page.")
        log.warning("lifecycle-tracer turned a browser session away: %s", sentence)
        websocket = web.WebSocketResponse(heartbeat=15)
        await websocket.prepare(request)
        await websocket.send_bytes(f"\r\n  {sentence}\r\n".encode())
        async for _ in websocket:  # nothing behind it reads input; keep the sentence on screen
            pass
        return websocket

    async def on_startup(self, app: web.Application) -> None:
        # textual-serve's banner names the address without the token, which would only get a 403.
        self.console.print(f"Serving the TUI at {escape(self.url)} — open it in a browser; Ctrl+C stops.",
                           highlight=False, soft_wrap=True)
