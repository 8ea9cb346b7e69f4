"""Lesson 8, exercise rates: one way to solve it.

`fetch_rate` blocks the thread it runs on. In a plain `def`, FastAPI runs
`read_rate` in a worker thread of the threadpool, so each call blocks only
its own worker thread and the event loop stays free to start the others.
"""

# ── exercise rates: your code starts here ──
@app.get("/rates/{currency}")
def read_rate(currency: str) -> dict[str, str | float]:
    return {"currency": currency, "rate": fetch_rate(currency)}
# ── exercise rates: your code ends here ──
