"""The truth corpus runs each app in its own event loop (oracle.run_session), so it
needs no async test plugin; this file only keeps the corpus's own modules out of
test collection."""

collect_ignore_glob = ["apps/*", "oracle.py", "checks.py", "harness.py", "registry.py", "requests_gen.py", "docs_corpus.py"]
