"""A document store: FileResponse downloads (full, ranged, HEAD, conditional),
a StaticFiles mount and, where FastAPI has it, app.frontend() serving a
single-page app build, all on a temporary directory made by make_app()."""

import shutil
import tempfile
import weakref
from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from ._spec import Req, pin_mtime

HAS_FRONTEND = hasattr(FastAPI, "frontend")  # FastAPI >= 0.165


def _make_tree() -> Path:
    root = Path(tempfile.mkdtemp(prefix="corpus-files-"))
    (root / "docs").mkdir()
    (root / "static" / "css").mkdir(parents=True)
    (root / "docs" / "report.txt").write_text("quarterly report\n" * 200, encoding="utf-8")
    (root / "docs" / "data.bin").write_bytes(bytes(range(256)) * 4)
    (root / "static" / "index.html").write_text("<h1>docs home</h1>\n", encoding="utf-8")
    (root / "static" / "css" / "site.css").write_text("body { color: #333; }\n", encoding="utf-8")
    (root / "spa" / "assets").mkdir(parents=True)
    (root / "spa" / "index.html").write_text(
        "<div id=app></div><script src=/app/assets/app.js></script>\n", encoding="utf-8"
    )
    (root / "spa" / "assets" / "app.js").write_text("console.log('spa');\n", encoding="utf-8")
    for path in root.rglob("*"):
        pin_mtime(path)
    return root


def make_app() -> FastAPI:
    root = _make_tree()
    app = FastAPI()
    weakref.finalize(app, shutil.rmtree, root, ignore_errors=True)
    docs = root / "docs"

    @app.get("/files/{name}")
    async def download(name: str) -> FileResponse:
        path = docs / name
        if name.startswith(".") or not path.is_file():
            raise HTTPException(404, "no such document")
        return FileResponse(path)

    @app.get("/attachments/{name}")
    def attachment(name: str) -> FileResponse:
        return FileResponse(docs / name, filename=f"copy of {name}", media_type="application/octet-stream")

    @app.head("/files-head/{name}")
    async def head_file(name: str) -> FileResponse:
        return FileResponse(docs / name)

    @app.get("/missing-on-disk")
    async def missing() -> FileResponse:
        return FileResponse(docs / "gone.txt")

    app.mount("/static", StaticFiles(directory=root / "static", html=True), name="static")
    if HAS_FRONTEND:
        app.frontend("/app", directory=root / "spa", check_dir=True)
    return app


REQUESTS = [
    Req("file-response", path="/files/report.txt", expect_status=200),
    Req("file-attachment-filename", path="/attachments/data.bin", expect_status=200),
    Req("file-range", path="/files/data.bin", headers=(("range", "bytes=10-29"),), expect_status=206),
    Req(
        "file-multi-range",
        path="/files/report.txt",
        headers=(("range", "bytes=0-9, 100-109"),),
        expect_status=206,
    ),
    Req("file-bad-range-416", path="/files/data.bin", headers=(("range", "bytes=5000-6000"),), expect_status=416),
    Req("file-head", method="HEAD", path="/files-head/report.txt", expect_status=200),
    Req("file-404-handler", path="/files/nothing.txt", expect_status=404),
    Req("file-missing-on-disk", path="/missing-on-disk", expect_status=500, expect_raises="RuntimeError"),
    Req("static-index-html", path="/static/", expect_status=200),
    Req("static-css", path="/static/css/site.css", expect_status=200),
    Req(
        "static-if-modified-since-304",
        path="/static/css/site.css",
        headers=(("if-modified-since", "Tue, 14 Nov 2023 22:13:20 GMT"),),
        expect_status=304,
    ),
    Req("static-head", method="HEAD", path="/static/css/site.css", expect_status=200),
    Req("static-404", path="/static/nope.js", expect_status=404),
    Req("static-405", method="POST", path="/static/css/site.css", expect_status=405),
    Req("static-dir-without-index-404", path="/static/css", expect_status=404),
]
if HAS_FRONTEND:
    REQUESTS += [
        Req("frontend-index", path="/app/", expect_status=200),
        Req("frontend-asset", path="/app/assets/app.js", expect_status=200),
        Req(
            "frontend-navigation-fallback",
            path="/app/settings/profile",
            headers=(("accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"),),
            expect_status=200,
        ),
        Req("frontend-missing-asset-404", path="/app/assets/gone.js", expect_status=404),
        Req("frontend-head", method="HEAD", path="/app/assets/app.js", expect_status=200),
        Req("frontend-post-405", method="POST", path="/app/", expect_status=405),
        Req(
            "api-route-wins-over-frontend",
            path="/files/report.txt",
            headers=(("range", "bytes=0-8"),),
            expect_status=206,
        ),
    ]
