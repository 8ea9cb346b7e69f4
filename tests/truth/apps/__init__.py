"""Apps written for the truth corpus: what FastAPI's docs_src examples do not cover.

Each module has ``make_app()`` (a fresh, independent app per call) and
``REQUESTS``. A module may set ``NEEDS`` to a key of
``truth.docs_corpus.FEATURES``: it is then only built when the installed
FastAPI has that feature, and ``WITHOUT`` (if given) lists the requests that
check the feature-less behaviour instead.
"""

MODULES = (
    "params_app",
    "responses_app",
    "streaming_app",
    "generators_app",
    "routing_app",
    "handlers_app",
    "deps_app",
    "middleware_app",
    "websocket_app",
    "limits_app",
)
