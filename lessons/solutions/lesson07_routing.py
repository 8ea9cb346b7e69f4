"""Lesson 7, exercise admin-prefix: one way to solve it.

A route's full path is the include_router prefix, then the APIRouter prefix,
then the decorator's path. Giving `/admin` in both places made it
`/admin/admin/stats`; keeping the prefix only on the router makes it
`/admin/stats`.
"""

# ── exercise admin-prefix: your code starts here ──
admin = APIRouter(prefix="/admin", tags=["admin"])


@admin.get("/stats")
async def read_stats() -> dict[str, int]:
    return {"users": len(USERS), "accounts": len(ACCOUNTS)}


app.include_router(admin)
# ── exercise admin-prefix: your code ends here ──
