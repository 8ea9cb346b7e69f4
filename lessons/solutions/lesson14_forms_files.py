"""Lesson 14, exercise newsletter-form: one way to solve it.

A parameter typed with a Pydantic model is read from a JSON body, so the
form's urlencoded bytes were validated as a whole and failed. `Form()` on
the model tells FastAPI to parse the body as a form and fill the model
from its fields: the checkbox's "on" becomes True, and a missing email is
still a 422 at ["body", "email"].
"""

# ── exercise newsletter-form: your code starts here ──
@app.post("/subscribe")
async def subscribe(subscription: Annotated[Subscription, Form()]):
    return {"email": subscription.email, "weekly": subscription.weekly}
# ── exercise newsletter-form: your code ends here ──
