"""FastAPI's documentation examples (docs_src of the installed FastAPI's sdist), each
run untraced, traced and with a raising sink, every trace checked against the oracle.

The sdist is downloaded once with pip into a cache folder (see docs_corpus.py);
if that fails, the tests fail with one sentence saying so: they never skip.
"""

from __future__ import annotations

import dataclasses

import fastapi
import pytest

from . import docs_corpus as dc
from . import harness, requests_gen

# A few examples whose first requests also go through a real uvicorn.
UVICORN = {"dependencies/tutorial008b", "background_tasks/tutorial001", "handling_errors/tutorial004",
           "middleware/tutorial001", "custom_response/tutorial007", "websockets_/tutorial001", "websockets/tutorial001"}


def _selection() -> tuple[dc.Selection | None, str | None]:
    try:
        root = dc.docs_root(fastapi.__version__)
    except dc.DownloadFailed as exc:
        return None, str(exc)
    except Exception as exc:  # a broken cache or archive: still one sentence
        return None, f"Could not prepare FastAPI {fastapi.__version__}'s docs_src ({type(exc).__name__}: {exc})."
    return dc.select(root, fastapi.__version__), None


SELECTION, ERROR = _selection()
CHECKED: list[str] = []


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "doc" in metafunc.fixturenames:
        if SELECTION is None:
            metafunc.parametrize("doc", [pytest.param(None, id="docs_src-unavailable")])
        else:
            metafunc.parametrize("doc", [pytest.param(d, id=d.id) for d in SELECTION.files])


def case_for(doc: dc.DocFile) -> harness.Case:
    def make() -> harness.AppCopy:
        loaded = dc.load(doc)
        return harness.AppCopy(loaded.app, loaded.roots, loaded.unload)

    def requests(app: object) -> list:
        try:
            spec = app.openapi()  # type: ignore[attr-defined]
        except Exception:
            spec = None
        reqs = requests_gen.for_app(app, spec)
        if doc.id in UVICORN or f"{doc.chapter}/{doc.stem}" in UVICORN:
            reqs = [dataclasses.replace(r, uvicorn=True) if i < 2 else r for i, r in enumerate(reqs)]
        return reqs

    return harness.Case(doc.id, make, requests)


def test_docs_app(doc: dc.DocFile | None) -> None:
    if ERROR is not None:
        pytest.fail(ERROR, pytrace=False)
    assert doc is not None
    result = harness.run_case(case_for(doc))
    CHECKED.append(doc.id)
    assert result.requests, f"{doc.id}: no request was generated"
    if result.mismatches or result.corpus_errors:
        pytest.fail(f"{doc.id}: {len(result.mismatches)} mismatch(es) over {len(result.requests)} request(s)\n"
                    + result.report(), pytrace=False)


def test_docs_selection_keeps_its_promises() -> None:
    if ERROR is not None:
        pytest.fail(ERROR, pytrace=False)
    assert SELECTION is not None
    assert not SELECTION.problems, "\n".join(SELECTION.problems)
    promised = sum(ch.minimum for ch in dc.CHAPTERS if ch not in [c for c, _ in SELECTION.absent])
    assert len(SELECTION.files) >= promised, f"{len(SELECTION.files)} docs apps selected, the chapters promise {promised}"
    for chapter, why in SELECTION.absent:  # gated chapters: the feature really is missing
        assert not dc.feature(chapter.needs or ""), f"{chapter.names[0]} is absent although {why}"


def test_docs_every_selected_app_was_checked() -> None:
    """Runs after the parametrized tests (file order): every selected app went through the harness."""
    if ERROR is not None:
        pytest.fail(ERROR, pytrace=False)
    assert SELECTION is not None
    missing = [d.id for d in SELECTION.files if d.id not in CHECKED]
    if len(CHECKED) == 0:
        pytest.fail("no docs app was checked in this session (run the whole module)", pytrace=False)
    assert not missing, f"{len(missing)} selected docs app(s) were not checked: {missing[:10]}"
