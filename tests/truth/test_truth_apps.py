"""The corpus's own apps (tests/truth/apps/), for what docs_src does not cover."""

from __future__ import annotations

import importlib
from types import ModuleType

import pytest

from . import docs_corpus, harness
from .apps import MODULES


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"{__package__}.apps.{name}")


def _params() -> list:
    out = []
    for name in MODULES:
        module = _module(name)
        needs = getattr(module, "NEEDS", None)
        if needs is not None and not docs_corpus.feature(needs):
            why = docs_corpus.FEATURES[needs][0]
            out.append(pytest.param(name, id=f"{name}[not built: needs '{why}', absent in this FastAPI]"))
        else:
            out.append(pytest.param(name, id=name))
    return out


def case_for(module: ModuleType) -> harness.Case:
    def make() -> harness.AppCopy:
        return harness.AppCopy(module.make_app(), (module.__file__,))

    return harness.Case(module.__name__.rsplit(".", 1)[-1], make, lambda app: list(module.REQUESTS))


@pytest.mark.parametrize("name", _params())
def test_app(name: str) -> None:
    module = _module(name)
    needs = getattr(module, "NEEDS", None)
    if needs is not None and not docs_corpus.feature(needs):
        # The feature-less behaviour: this FastAPI cannot build the app, or (FastAPI
        # keeps unknown keyword arguments) builds it without the feature.
        try:
            app = module.make_app()
        except (TypeError, ImportError, AttributeError):
            return
        assert not hasattr(app, needs) or getattr(app, needs, None) is None or needs not in type(app).__init__.__code__.co_varnames
        return
    calls_before = list(getattr(module, "CALLS", []))
    result = harness.run_case(case_for(module))
    spied = getattr(module, "CALLS", [])[len(calls_before):]
    problems = result.report()
    if spied:
        problems += f"\n[tracer.called_app_code] {name}: the spies saw {spied} (the untraced run calls none of them)"
    if result.mismatches or spied or result.corpus_errors:
        pytest.fail(f"{name}: {len(result.mismatches)} mismatch(es) over {len(result.requests)} request(s)\n{problems}",
                    pytrace=False)
