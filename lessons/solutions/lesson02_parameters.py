"""Lesson 2, exercise users-me: one way to solve it.

The router tries routes in the order they were declared and stops at the
first whose shape fits. Declaring the fixed path `/users/me` first lets it
match before `/users/{user_id}` gets a chance to swallow it.
"""

# ── exercise users-me: your code starts here ──
@app.get("/users/me")
async def read_current_user():
    return {"user_id": "the current user"}


@app.get("/users/{user_id}")
async def read_user(user_id: int):
    return {"user_id": user_id}
# ── exercise users-me: your code ends here ──
