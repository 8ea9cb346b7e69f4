"""A login-ish site: cookies and Set-Cookie, redirects, HTML, responses
returned directly, custom media types and duplicate headers."""

from typing import Annotated

from fastapi import Cookie, FastAPI, Response
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
)

from ._spec import Req


def make_app() -> FastAPI:
    app = FastAPI()
    sessions = {"s-123": "ada"}

    @app.get("/", response_class=HTMLResponse)
    async def home(session: Annotated[str | None, Cookie()] = None) -> str:
        user = sessions.get(session or "")
        if user is None:
            return "<html><body><a href='/login'>log in</a></body></html>"
        return f"<html><body>Hello, {user} &#x1F44B;</body></html>"

    @app.post("/login")
    async def login(response: Response, user: str = "ada") -> dict[str, str]:
        response.set_cookie("session", "s-123", httponly=True, samesite="lax", max_age=3600)
        response.set_cookie("theme", "dark", path="/", secure=True)
        return {"logged_in": user}

    @app.post("/logout")
    async def logout() -> RedirectResponse:
        resp = RedirectResponse("/", status_code=303)
        resp.delete_cookie("session")
        return resp

    @app.get("/old-home")
    def old_home() -> RedirectResponse:
        return RedirectResponse("https://example.com/new-home?from=old", status_code=301)

    @app.get("/temp")
    async def temp() -> RedirectResponse:
        return RedirectResponse(url="/")

    @app.get("/teapot")
    def teapot() -> JSONResponse:
        return JSONResponse(
            {"detail": "short and stout"},
            status_code=418,
            headers={"X-Tea": "earl grey", "Cache-Control": "no-store"},
        )

    @app.get("/multi-header")
    async def multi_header() -> Response:
        resp = PlainTextResponse("two links")
        resp.headers.append("Link", "</a>; rel=preload")
        resp.headers.append("Link", "</b>; rel=preload")
        resp.headers.append("Vary", "Accept-Encoding")
        return resp

    @app.get("/csv")
    def csv() -> Response:
        body = "id,name\n1,kettle\n2,mug\n"
        return Response(
            content=body,
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="items.csv"'},
        )

    @app.get("/unicode")
    async def unicode() -> PlainTextResponse:
        return PlainTextResponse("naïve café — 東京 ✓")

    @app.get("/empty", status_code=204)
    async def empty() -> Response:
        return Response(status_code=204)

    @app.get("/not-modified")
    def not_modified() -> Response:
        return Response(status_code=304, headers={"ETag": '"abc"'})

    return app


REQUESTS = [
    Req("html-anonymous", path="/", expect_status=200),
    Req("html-with-cookie", path="/", headers=(("cookie", "session=s-123; theme=dark"),), expect_status=200),
    Req("set-cookies", method="POST", path="/login", expect_status=200),
    Req("logout-303-delete-cookie", method="POST", path="/logout", expect_status=303),
    Req("redirect-301-external", path="/old-home", expect_status=301),
    Req("redirect-307", path="/temp", expect_status=307),
    Req("json-418-custom-headers", path="/teapot", expect_status=418),
    Req("duplicate-headers", path="/multi-header", expect_status=200),
    Req("csv-attachment", path="/csv", expect_status=200),
    Req("unicode-text", path="/unicode", expect_status=200),
    Req("empty-204", path="/empty", expect_status=204),
    Req("not-modified-304", path="/not-modified", expect_status=304),
]
