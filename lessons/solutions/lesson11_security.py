"""Lesson 11, exercise www-authenticate: one way to solve it.

FastAPI's `http_exception_handler` builds the error response from the
HTTPException alone: its status, its detail, and the headers it was given.
A 401 carries `WWW-Authenticate` only when the exception does, so each 401
this dependency raises passes it, as the security classes do for theirs.
"""

# ── exercise www-authenticate: your code starts here ──
def get_author(authorization: Annotated[str | None, Header()] = None) -> str:
    # Hand-written, without a security class: it reads the Authorization header itself.
    challenge = {"WWW-Authenticate": "Bearer"}  # which scheme the client should use
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(status_code=401, detail="Not authenticated", headers=challenge)
    username = TOKENS.get(token)
    if username is None:
        raise HTTPException(status_code=401, detail="Invalid token", headers=challenge)
    return username
# ── exercise www-authenticate: your code ends here ──
