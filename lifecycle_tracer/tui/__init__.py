"""The Textual TUI. Nothing in the tracer core imports this package."""
