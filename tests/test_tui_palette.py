"""The command palette (Ctrl+P) offers the app's own commands, only where their keys work."""

from __future__ import annotations

import pytest
from test_tui import fire, lesson_app, recorded_lesson_one, running, wait_for
from textual.command import CommandPalette

from lifecycle_tracer.tui.app import TracerApp
from lifecycle_tracer.tui.controllers import ReplayController

pytestmark = pytest.mark.anyio


def titles(app: TracerApp) -> dict[str, str]:
    return {c.title: c.help for c in app.get_system_commands(app.screen)}


async def test_a_lesson_offers_its_commands_with_their_keys_and_runs_one_by_name() -> None:
    app = lesson_app()
    async with running(app) as pilot:
        offered = titles(app)
        for title in ("Fire the step's request", "Next step", "Step mode on/off", "Compose a request",
                      "Inspect the request", "Reload the lesson", "Export", "Keys and legend"):
            assert title in offered, title
        assert "(key: n)" in offered["Next step"] and "(key: e)" in offered["Export"]
        assert "Quit" in offered  # Textual's own commands are still there, after the app's

        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette to open")
        await pilot.press(*"next step")

        def best_hit() -> str:  # the palette searches in a worker: wait until its first hit is this search's
            hits = app.screen.query("CommandList").first()
            return str(hits.get_option_at_index(0).prompt) if hits.option_count else ""

        await wait_for(pilot, lambda: "Next step" in best_hit(), "the palette's hit for 'next step'")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.step_index == 1, "the palette's Next step to run")
        await fire(pilot)  # the palette left the app usable: Enter fires the step as it did
        assert all(o.ok for o in app.outcomes[1])
        await pilot.press("q")


async def test_a_replay_offers_no_command_that_sends_or_edits() -> None:
    app = TracerApp(ReplayController(await recorded_lesson_one(), title="a recording"))
    async with running(app) as pilot:
        offered = titles(app)
        for title in ("Fire the step's request", "Compose a request", "Step mode on/off", "Reload the lesson"):
            assert title not in offered, title
        assert "Inspect the request" in offered and "Export" in offered
        await pilot.press("q")
