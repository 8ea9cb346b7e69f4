"""Lesson 13, exercise v2-mount: one way to solve it.

A mount hands its app only the part of the path after its prefix: for
`GET /v2/ping`, `v2`'s router compares `/ping` with its routes. Declaring
the route as `/ping` lets the mount supply the `/v2`, so the full path is
`/v2/ping` and not `/v2/v2/ping`.
"""

# ── exercise v2-mount: your code starts here ──
v2 = FastAPI(title="Fruit shop, version 2")  # the next version of the API, as an app of its own


@v2.get("/ping")
async def ping() -> dict[str, str]:
    return {"ping": "pong", "version": "2"}


app.mount("/v2", v2)
# ── exercise v2-mount: your code ends here ──
