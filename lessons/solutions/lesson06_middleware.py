"""Lesson 6, exercise health-check: one way to solve it.

Everything after `await call_next(request)` runs only once the layers inside,
the router included, have handled the request. Checking the path first and
returning the response before `call_next` makes the middleware answer
`/health` by itself; every other path is still passed on.
"""

# ── exercise health-check: your code starts here ──
class HealthCheckMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next):
        if request.url.path == "/health":
            return JSONResponse({"status": "ok"})
        return await call_next(request)
# ── exercise health-check: your code ends here ──
