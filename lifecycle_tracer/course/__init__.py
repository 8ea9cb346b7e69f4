"""Lessons: the format a lesson module declares (re-exported here for lesson
authors), the loader that finds and imports lessons, the session that serves a
lesson's app and fires its steps, plain mode, and the learner's progress."""

from .format import (
    Check,
    Exercise,
    Lesson,
    Outcome,
    Question,
    Request,
    Step,
    StepResult,
    WebSocketRequest,
    WebSocketResponse,
    body,
    count,
    custom,
    has,
    header,
    lacks,
    order,
    status,
)

__all__ = [
    "Check",
    "Exercise",
    "Lesson",
    "Outcome",
    "Question",
    "Request",
    "Step",
    "StepResult",
    "WebSocketRequest",
    "WebSocketResponse",
    "body",
    "count",
    "custom",
    "has",
    "header",
    "lacks",
    "order",
    "status",
]
