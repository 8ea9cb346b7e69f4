"""Lesson 9, exercise value-error: one way to solve it.

ExceptionMiddleware looks up a handler by the raised exception's class, so a
handler registered for `ValueError` catches it as it leaves the endpoint and
its response (400, with the message) is what the client gets. Nothing is left
for ServerErrorMiddleware to turn into a 500 and re-raise to the server log.
"""

# ── exercise value-error: your code starts here ──
@app.exception_handler(ValueError)
async def value_error_handler(request: Request, exc: ValueError) -> JSONResponse:
    return JSONResponse(status_code=400, content={"detail": str(exc)})


@app.get("/coupons/{coupon}")
async def read_coupon(coupon: str) -> dict[str, int | str]:
    return {"coupon": coupon, "percent_off": percent_off(coupon)}
# ── exercise value-error: your code ends here ──
