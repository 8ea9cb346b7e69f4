"""One vocabulary for the whole tool: every lesson, sentence and screen uses these words.

``avoid`` lists the other words people use for the same thing; the tests
keep them out of lessons and of the trace's sentences, so a learner meets
one word per idea. ``also`` names other words the learner will meet
elsewhere (FastAPI's docs, Starlette's source) for the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    term: str
    meaning: str
    also: tuple[str, ...] = ()
    avoid: tuple[str, ...] = ()

    @property
    def aliases(self) -> tuple[str, ...]:
        return self.also


GLOSSARY: tuple[Entry, ...] = (
    Entry("ASGI", "The interface between the server (uvicorn) and the app: the server calls the app once per "
          "request with the request's details, and the app sends the response back as messages."),
    Entry("stage", "One part of handling a request that the trace shows: request, middleware, routing, "
          "dependency, validation, endpoint, serialization, response, background, exception.",
          avoid=("phase",)),
    Entry("event", "One line of a trace: a stage starting, ending, or a single point in time, with the facts "
          "the tracer saw."),
    Entry("trace", "Every event of one request, in the order they happened."),
    Entry("middleware", "Code that wraps the whole app: it sees each request before the app does, and the "
          "response after. Several middleware wrap each other like layers of an onion.",
          also=("layer",)),
    Entry("built-in layers", "The middleware FastAPI and Starlette always add around your app: "
          "ServerErrorMiddleware outermost, ExceptionMiddleware, and FastAPI's AsyncExitStackMiddleware."),
    Entry("router", "The part of the app that compares the request's path and method with each route, in the "
          "order they were declared, and hands the request to the first that fits."),
    Entry("route", "A path and its methods, tied to one endpoint: what `@app.get(\"/items/{item_id}\")` declares.",
          also=("path operation",)),
    Entry("endpoint", "Your function that a route calls to answer the request.",
          also=("path operation function",), avoid=("view function", "route handler", "handler function")),
    Entry("path parameter", "A part of the path that varies, like `item_id` in `/items/{item_id}`."),
    Entry("query parameter", "A `name=value` pair after the `?` in the URL."),
    Entry("body", "The bytes the client sends after the headers, usually JSON; FastAPI reads it only when an "
          "endpoint or dependency asks for it."),
    Entry("validation", "Checking and converting what the client sent (path, query, headers, cookies, body) "
          "into the types your function declares. When it fails, FastAPI raises RequestValidationError and "
          "its handler answers 422."),
    Entry("serialization", "Turning what your endpoint returned into the bytes of the response, through the "
          "response model when there is one."),
    Entry("response model", "The type that shapes and filters what an endpoint returns before it is sent."),
    Entry("dependency", "A function FastAPI calls for you before the endpoint, declared with `Depends(...)`; "
          "its result becomes an argument."),
    Entry("dependency cache", "Within one request, a dependency used in several places runs once and its "
          "value is reused, unless it is declared with `use_cache=False`."),
    Entry("setup", "The part of a dependency that runs before the endpoint: all of a plain one, or the code "
          "before `yield`."),
    Entry("teardown", "The code after `yield` in a dependency: it runs when FastAPI closes the request's exit "
          "stack.", avoid=("cleanup", "clean up", "clean-up")),
    Entry("exit stack", "FastAPI's list of teardowns still to run (a Python AsyncExitStack); closing it runs "
          "them in reverse order."),
    Entry("event loop", "The single thread that runs every `async def` function, one at a time, switching at "
          "each `await`."),
    Entry("threadpool", "The set of threads (AnyIO's, at most 40 busy at once by default) where FastAPI runs "
          "plain `def` endpoints and dependencies, so they do not stop the event loop.",
          avoid=("thread pool", "thread-pool")),
    Entry("worker thread", "One thread of the threadpool."),
    Entry("exception handler", "A function that turns an exception into a response: FastAPI's own for "
          "HTTPException and RequestValidationError, or one you register with `@app.exception_handler`."),
    Entry("background task", "A function you attach to the response; it runs after the response has been "
          "sent, in the same request."),
    Entry("lifespan", "Code that runs once when the app starts and once when it stops, not per request."),
    Entry("mount", "Handing every path under a prefix to another app (a sub-app), with `app.mount(...)`.",
          also=("sub-application",)),
    Entry("root_path", "The prefix a proxy in front of the app adds to every URL. Routes are declared without "
          "it: the router takes it off the front of the path before matching, and the app adds it back when it "
          "builds links and its docs."),
    Entry("streaming", "Sending the body in several parts as they are produced, instead of all at once."),
    Entry("step", "One part of a lesson: a short text, often a question, and the request it fires."),
    Entry("exercise", "A lesson's last part: a change you make to the lesson's app, checked on the trace."),
    Entry("step mode", "The TUI holding a real request at each stage until you press space."),
)


def lookup(term: str) -> list[Entry]:
    """Entries whose term or other names match ``term``, exact matches first."""
    key = term.strip().lower()
    exact = [e for e in GLOSSARY if key in (e.term.lower(), *(a.lower() for a in e.also + e.avoid))]
    return exact or [e for e in GLOSSARY if key in e.term.lower()]


def avoided() -> dict[str, str]:
    """Each word to avoid, and the glossary term to use instead."""
    return {word: e.term for e in GLOSSARY for word in e.avoid}
