"""Lesson 18, exercise fake-db: one way to solve it.

`app.dependency_overrides` maps the dependency a route declares to the one
FastAPI calls instead. FastAPI looks up `get_db`, as `Depends(get_db)`
names it, so `get_db` must be the key and `get_fake_db` the value. The fake
is a yield dependency like the real one, so its code after `yield` runs as
its teardown, and `get_db` never runs.
"""

# ── exercise fake-db: your code starts here ──
app.dependency_overrides[get_db] = get_fake_db  # tests must not touch the real database
# ── exercise fake-db: your code ends here ──
