"""Lesson 5, exercise profile: one way to solve it.

With `response_model=UserOut`, the serialization stage validates whatever
read_profile returns against UserOut and keeps only its declared fields, so
hashed_password, reset_token and any field a record gains later never go out.
A return type (`-> UserOut`) would declare the same response model.
"""

# ── exercise profile: your code starts here ──
@app.get("/profiles/{username}", response_model=UserOut)
async def read_profile(username: str):
    return USERS[username]  # the stored record, as it is
# ── exercise profile: your code ends here ──
