"""Lesson 17, exercise order-link: one way to solve it.

`request.url_for` builds the URL of a route from its name and path
parameters, starting from the request's own scheme, host and root_path. The
root_path carries the proxy's `/shop`, and uvicorn has already set the
scheme from X-Forwarded-Proto, so the link leads to the order through the
proxy, whichever prefix and scheme the proxy uses.
"""

# ── exercise order-link: your code starts here ──
@app.post("/orders", status_code=201)
async def create_order(item_id: int, request: Request, response: Response):
    order_id = next(ORDER_IDS)
    ORDERS[order_id] = item_id
    response.headers["Location"] = str(request.url_for("read_order", order_id=order_id))
    return {"order_id": order_id, "item_id": item_id}
# ── exercise order-link: your code ends here ──
