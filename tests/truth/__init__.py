"""The truth corpus: traces checked against an oracle that does not use the tracer.

See ``README.md`` in this folder.
"""
