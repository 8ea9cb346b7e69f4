"""Lesson 15, exercise created-folder: one way to solve it.

The status is the same for every create, so it goes on the decorator. The
Location depends on the new id, which only the endpoint knows: it writes
the header on the `response` parameter, and FastAPI copies that header
onto the JSON response it builds from the returned dict.
"""

# ── exercise created-folder: your code starts here ──
@app.post("/folders", status_code=201)
async def create_folder(folder: FolderIn, response: Response):
    folder_id = next(FOLDER_IDS)
    FOLDERS[folder_id] = folder.name
    response.headers["Location"] = f"/folders/{folder_id}"
    return {"id": folder_id, "name": folder.name}
# ── exercise created-folder: your code ends here ──
