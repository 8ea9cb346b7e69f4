"""Lesson 3, exercises fresh-ids and export-slot: one way to solve them.

fresh-ids: the per-request cache stores new_id's first value (the
reminder's, solved first) and hands it to every later use; use_cache=False
on audit_entry's use makes FastAPI call new_id again for it.

export-slot: scope="function" puts take_export_slot's teardown on the exit
stack FastAPI closes as soon as the endpoint's result is serialized, before
the response is sent, instead of the request's, which closes after it.
"""

# ── exercise fresh-ids: your code starts here ──
def audit_entry(
    user: Annotated[str, Depends(get_current_user)],
    entry_id: Annotated[str, Depends(new_id, use_cache=False)],
) -> dict[str, str]:
    return {"id": entry_id, "by": user}


@app.post("/me/reminders")
async def add_reminder(
    text: str,
    reminder_id: Annotated[str, Depends(new_id)],
    audit: Annotated[dict[str, str], Depends(audit_entry)],
):
    return {"reminder": {"id": reminder_id, "text": text}, "audit": audit}
# ── exercise fresh-ids: your code ends here ──


# ── exercise export-slot: your code starts here ──
@app.get("/me/export")
async def export_notes(
    user: Annotated[str, Depends(get_current_user)],
    db: Annotated[Session, Depends(get_db)],
    _slot: Annotated[None, Depends(take_export_slot, scope="function")],
):
    return {"user": user, "notes": db.notes_of(user), "slots_free": ExportSlots.free}
# ── exercise export-slot: your code ends here ──
