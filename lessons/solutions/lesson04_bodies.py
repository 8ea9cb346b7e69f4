"""Lesson 4, exercise rename: one way to solve it.

FastAPI reads the JSON body only for a parameter declared as body; a plain
`name: str` outside the path is a query parameter. Taking a Pydantic model
makes the body an object with a required `name` field, so its errors sit at
`["body", "name"]`. (`name: Annotated[str, Body(embed=True)]` works too.)
"""

# ── exercise rename: your code starts here ──
class NewName(BaseModel):
    name: str


@app.post("/items/{item_id}/rename")
def rename_item(item_id: int, new: NewName):
    return {"item_id": item_id, "name": new.name}
# ── exercise rename: your code ends here ──
