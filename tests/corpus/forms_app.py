"""An upload service: urlencoded and multipart forms, UploadFile and bytes
File parameters, several files at once and form validation errors.
Only part of the corpus when python-multipart is installed."""

from typing import Annotated

from fastapi import FastAPI, File, Form, UploadFile

from ._spec import BOUNDARY, Req

MULTIPART = (("content-type", f"multipart/form-data; boundary={BOUNDARY}"),)


def make_app() -> FastAPI:
    app = FastAPI()

    @app.post("/login")
    async def login(username: Annotated[str, Form()], password: Annotated[str, Form(min_length=3)]) -> dict[str, str]:
        return {"user": username, "pw_len": str(len(password))}

    @app.post("/avatar")
    async def avatar(user: Annotated[str, Form()], image: UploadFile) -> dict[str, object]:
        data = await image.read()
        return {
            "user": user,
            "filename": image.filename,
            "content_type": image.content_type,
            "size": len(data),
            "head": data[:4].hex(),
        }

    @app.post("/attachments")
    def attachments(files: Annotated[list[UploadFile], File()], note: Annotated[str, Form()] = "") -> dict[str, object]:
        return {"names": [f.filename for f in files], "sizes": [f.size for f in files], "note": note}

    @app.post("/raw-file")
    async def raw_file(blob: Annotated[bytes, File()]) -> dict[str, int]:
        return {"bytes": len(blob)}

    return app


REQUESTS = [
    Req(
        "urlencoded-form",
        method="POST",
        path="/login",
        data={"username": "ada", "password": "hunter2"},
        expect_status=200,
    ),
    Req(
        "form-validation-422",
        method="POST",
        path="/login",
        data={"username": "ada", "password": "x"},
        expect_status=422,
    ),
    Req("form-missing-field-422", method="POST", path="/login", data={"username": "ada"}, expect_status=422),
    Req(
        "multipart-upload-file",
        method="POST",
        path="/avatar",
        data={"user": "ada"},
        files={"image": ("me.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "image/png")},
        headers=MULTIPART,
        expect_status=200,
    ),
    Req(
        "multipart-several-files",
        method="POST",
        path="/attachments",
        data={"note": "two"},
        files=[("files", ("a.txt", b"alpha", "text/plain")), ("files", ("b.csv", b"x,y\n1,2\n", "text/csv"))],
        headers=MULTIPART,
        expect_status=200,
    ),
    Req(
        "multipart-bytes-file",
        method="POST",
        path="/raw-file",
        files={"blob": ("blob.bin", bytes(range(200)), "application/octet-stream")},
        headers=MULTIPART,
        expect_status=200,
    ),
    Req(
        "multipart-missing-file-422",
        method="POST",
        path="/avatar",
        data={"user": "ada"},
        files={"other": ("x.txt", b"x", "text/plain")},
        headers=MULTIPART,
        expect_status=422,
    ),
]
