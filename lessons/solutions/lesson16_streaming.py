"""Lesson 16, exercise stream-report: one way to solve it.

A list can only be sent once it is complete, so the client waited for the
last query. An async generator yields each line as soon as its query is
done, and StreamingResponse sends every yielded line as its own part of the
body, while the generator goes on with the next one.
"""

# ── exercise stream-report: your code starts here ──
@app.get("/orders/report")
async def orders_report():
    async def lines():
        for order_id, total in ORDERS:
            await asyncio.sleep(STEP)  # each line needs its own slow query
            yield f"order {order_id}: {total} EUR\n"

    return StreamingResponse(lines(), media_type="text/plain")
# ── exercise stream-report: your code ends here ──
