"""FastAPI's own documentation examples, loaded from the installed version's sdist.

Nothing from ``docs_src/`` is copied into this repository: the source
distribution of the installed FastAPI is downloaded once (with pip, from the
package registry) into a cache folder and the examples are imported from
there. Which files are used is decided by the committed rules below, so the
selection is the same on every machine for a given FastAPI version:

* ``CHAPTERS``: the chapters that touch the request lifecycle, each with the
  minimum number of apps it must yield (true of 0.121.0 and of the newest
  release this corpus was written against), and, for chapters that only exist
  in newer releases, the feature check that says whether the chapter must be
  there (``FEATURES``).
* One variant per example (``pick_variants``): the docs ship the same example
  several times (``_an`` = Annotated, ``_py39``/``_py310`` = syntax levels,
  ``_non_an`` = without Annotated, ``_pv1`` = Pydantic v1). The rule keeps the
  Annotated, newest-syntax, Pydantic v2 variant of each.
* ``OPTIONAL_PACKAGES``: an example that imports one of these packages, when it
  is not installed, is left out, and the reason is reported. An example that
  imports any other missing package is an error, never a silent skip.
* ``NO_APP``: an example module without a module-level ``app`` is reported as
  such (it only defines a router or helpers used by another file).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import itertools
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import types
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fastapi

# --------------------------------------------------------------------------
# Feature checks, for chapters that exist only in newer FastAPI releases.


def _init_params() -> set[str]:
    return set(inspect.signature(fastapi.FastAPI.__init__).parameters)


def _has_sse() -> bool:
    return importlib.util.find_spec("fastapi.sse") is not None


def _streams_generators() -> bool:
    # FastAPI streams a generator endpoint itself (JSON Lines, raw bytes) only
    # in releases whose request handler takes the stream item field.
    import fastapi.routing as fr

    return "stream_item_field" in inspect.signature(fr.get_request_handler).parameters


FEATURES: dict[str, tuple[str, Any]] = {
    "sse": ("fastapi.sse (EventSourceResponse) exists", _has_sse),
    "streams": ("FastAPI streams generator endpoints itself (get_request_handler takes stream_item_field)", _streams_generators),
    "max_body_size": ("FastAPI(max_body_size=...) exists", lambda: "max_body_size" in _init_params()),
    "strict_content_type": ("FastAPI(strict_content_type=...) exists", lambda: "strict_content_type" in _init_params()),
}


def feature(name: str) -> bool:
    return bool(FEATURES[name][1]())


@dataclass(frozen=True)
class Chapter:
    names: tuple[str, ...]  # the folder under docs_src (it was renamed in some releases)
    minimum: int  # apps it must yield, once variants are picked and exclusions made
    needs: str | None = None  # a FEATURES key: the chapter must exist iff the feature does


# The chapters of the tutorial and the advanced guide that touch the request
# lifecycle. Minimums hold for FastAPI 0.121.0 and 0.165.0.
CHAPTERS: tuple[Chapter, ...] = (
    Chapter(("first_steps",), 2),
    Chapter(("path_params",), 6),
    Chapter(("path_params_numeric_validations",), 6),
    Chapter(("query_params",), 6),
    Chapter(("query_params_str_validations",), 16),
    Chapter(("query_param_models",), 2),
    Chapter(("header_params",), 3),
    Chapter(("header_param_models",), 3),
    Chapter(("cookie_params",), 1),
    Chapter(("cookie_param_models",), 2),
    Chapter(("body",), 4),
    Chapter(("body_fields",), 1),
    Chapter(("body_multiple_params",), 5),
    Chapter(("body_nested_models",), 9),
    Chapter(("extra_data_types",), 1),
    Chapter(("request_forms",), 1),
    Chapter(("request_form_models",), 2),
    Chapter(("request_files",), 5),
    Chapter(("request_forms_and_files",), 1),
    Chapter(("response_model",), 7),
    Chapter(("extra_models",), 3),
    Chapter(("response_status_code",), 2),
    Chapter(("additional_status_codes",), 1),
    Chapter(("handling_errors",), 6),
    Chapter(("dependencies",), 13),
    Chapter(("security",), 5),
    Chapter(("middleware",), 1),
    Chapter(("advanced_middleware",), 3),
    Chapter(("cors",), 1),
    Chapter(("background_tasks",), 2),
    Chapter(("bigger_applications",), 1),
    Chapter(("custom_response",), 15),
    Chapter(("response_directly",), 2),
    Chapter(("response_headers",), 2),
    Chapter(("response_cookies",), 2),
    Chapter(("response_change_status_code",), 1),
    Chapter(("using_request_directly",), 1),
    Chapter(("websockets_", "websockets"), 3),
    Chapter(("sub_applications",), 1),
    Chapter(("behind_a_proxy",), 5),
    Chapter(("events",), 3),
    Chapter(("custom_request_and_route",), 3),
    Chapter(("server_sent_events",), 5, needs="sse"),
    Chapter(("stream_data",), 2, needs="streams"),
    Chapter(("stream_json_lines",), 1, needs="streams"),
    Chapter(("request_body_limits",), 2, needs="max_body_size"),
    Chapter(("strict_content_type",), 1, needs="strict_content_type"),
)

# Packages some examples need that are not test dependencies of this project;
# an example importing one that is not installed is left out, for this reason.
OPTIONAL_PACKAGES: dict[str, str] = {
    "jwt": "PyJWT (JWT tokens in the OAuth2 security examples) is not a test dependency",
    "pwdlib": "pwdlib (password hashing in the security examples) is not a test dependency",
    "passlib": "passlib (password hashing in older security examples) is not a test dependency",
    "sqlmodel": "SQLModel (the SQL database examples) is not a test dependency",
    "databases": "databases (async SQL examples) is not a test dependency",
    "pydantic_settings": "pydantic-settings is not a test dependency",
    "strawberry": "strawberry (GraphQL) is not a test dependency",
    "ujson": "ujson (UJSONResponse) is not a test dependency",
    "yaml": "PyYAML is not a test dependency",
    "a2wsgi": "a2wsgi (WSGI mounting) is not a test dependency",
    "flask": "Flask (WSGI mounting) is not a test dependency",
    "email_validator": "email-validator (needed by pydantic's EmailStr) is not a test dependency",
}

# Names whose use in an example needs a package the example does not import itself.
IMPLIED_IMPORTS: dict[str, str] = {"EmailStr": "email_validator"}

# Examples that fail on purpose when imported: the docs show the error.
EXPECTED_IMPORT_ERRORS: dict[str, str] = {
    "response_model/tutorial003_04": "the docs show that FastAPI rejects a Response | dict return annotation when the route is declared",
}

_VARIANT = re.compile(r"(_non_an|_an|_py3\d+|_pv1)")


@dataclass(frozen=True)
class DocFile:
    chapter: str
    stem: str  # e.g. tutorial001 (or app for bigger_applications)
    path: Path  # the module file (main.py inside a package example)
    package_dir: Path  # the folder whose files are the app's own code
    module: str  # dotted name inside the chapter folder, e.g. tutorial001_an_py310 or app.main

    @property
    def id(self) -> str:
        return f"{self.chapter}/{self.module.replace('.', '/')}"


@dataclass
class Selection:
    version: str
    root: Path
    files: list[DocFile] = field(default_factory=list)
    excluded: list[tuple[str, str]] = field(default_factory=list)  # (file id, reason)
    chapters: dict[str, list[DocFile]] = field(default_factory=dict)
    absent: list[tuple[Chapter, str]] = field(default_factory=list)  # gated chapters not in this FastAPI
    problems: list[str] = field(default_factory=list)  # rule violations: the test fails on them


def _rank(name: str) -> tuple[int, int, int, int]:
    """Lower is preferred: Pydantic v2, Annotated, newest syntax."""
    pv1 = "_pv1" in name
    non_an = "_non_an" in name
    an = bool(re.search(r"_an(_|$)", name))
    py = max((int(m) for m in re.findall(r"_py3(\d+)", name)), default=0)
    return (int(pv1), int(non_an), 0 if an else 1, -py)


def pick_variants(names: list[str]) -> dict[str, str]:
    """stem -> the chosen variant among module names (without .py)."""
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(_VARIANT.sub("", name), []).append(name)
    return {stem: sorted(variants, key=lambda n: (_rank(n), n))[0] for stem, variants in sorted(groups.items())}


def _imports(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text)
    out: set[str] = {mod for name, mod in IMPLIED_IMPORTS.items() if re.search(rf"\b{name}\b", text)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module.split(".")[0])
    return out


def _defines_app(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        if any(isinstance(t, ast.Name) and t.id == "app" for t in targets):
            return True
    return False


def _missing(modules: set[str]) -> list[str]:
    missing = []
    for mod in sorted(modules):
        if mod in sys.builtin_module_names:
            continue
        try:
            if importlib.util.find_spec(mod) is None:
                missing.append(mod)
        except (ImportError, ValueError):
            missing.append(mod)
    return missing


def select(root: Path, version: str) -> Selection:
    """Apply the committed rules to an extracted ``docs_src`` folder."""
    sel = Selection(version=version, root=root)
    for chapter in CHAPTERS:
        folder = next((root / n for n in chapter.names if (root / n).is_dir()), None)
        label = chapter.names[0]
        if chapter.needs is not None and not feature(chapter.needs):
            sel.absent.append((chapter, FEATURES[chapter.needs][0]))
            continue
        if folder is None:
            sel.problems.append(f"chapter {label} is missing from FastAPI {version}'s docs_src")
            continue
        files: list[DocFile] = []
        if label == "bigger_applications":
            packages = [p.name for p in folder.iterdir() if p.is_dir() and (p / "main.py").exists()]
            for stem, chosen in pick_variants(packages).items():
                files.append(DocFile(label, stem, folder / chosen / "main.py", folder / chosen, f"{chosen}.main"))
        else:
            names = [p.stem for p in folder.glob("*.py") if p.stem != "__init__"]
            for stem, chosen in pick_variants(names).items():
                files.append(DocFile(label, stem, folder / f"{chosen}.py", folder / f"{chosen}.py", chosen))
        kept: list[DocFile] = []
        for doc in files:
            sources = [doc.path] if doc.package_dir.is_file() else list(doc.package_dir.rglob("*.py"))
            needed: set[str] = set()
            for src in sources:
                needed |= _imports(src)
            missing = _missing(needed)
            unknown = [m for m in missing if m not in OPTIONAL_PACKAGES]
            if unknown:
                sel.problems.append(f"{doc.id} imports {', '.join(unknown)}, which is not installed and not in OPTIONAL_PACKAGES")
                continue
            if missing:
                sel.excluded.append((doc.id, "; ".join(OPTIONAL_PACKAGES[m] for m in missing)))
                continue
            expected_error = EXPECTED_IMPORT_ERRORS.get(f"{doc.chapter}/{doc.stem}")
            if expected_error:
                sel.excluded.append((doc.id, expected_error))
                continue
            if not _defines_app(doc.path):
                sel.excluded.append((doc.id, "defines no module-level app (NO_APP rule)"))
                continue
            kept.append(doc)
        sel.chapters[label] = kept
        sel.files.extend(kept)
        if len(kept) < chapter.minimum:
            sel.problems.append(f"chapter {label} yields {len(kept)} apps, fewer than the {chapter.minimum} it promises")
    return sel


# --------------------------------------------------------------------------
# Download and cache.


class DownloadFailed(RuntimeError):
    pass


def cache_dir() -> Path:
    base = os.environ.get("LIFECYCLE_TRUTH_CACHE") or os.path.join(tempfile.gettempdir(), "lifecycle-tracer-truth")
    return Path(base)


def docs_root(version: str | None = None) -> Path:
    """The extracted ``docs_src`` of FastAPI ``version`` (the installed one by default)."""
    version = version or fastapi.__version__
    base = cache_dir() / f"fastapi-{version}"
    done = base / "docs_src.ok"
    root = base / f"fastapi-{version}" / "docs_src"
    if done.exists() and root.is_dir():
        return root
    base.mkdir(parents=True, exist_ok=True)
    sdist = base / f"fastapi-{version}.tar.gz"
    if not sdist.exists():
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", f"fastapi=={version}",
               "-d", str(base), "--quiet", "--disable-pip-version-check"]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
        if proc.returncode != 0 or not sdist.exists():
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise DownloadFailed(
                f"Could not download the source distribution of FastAPI {version} with pip "
                f"(needed for the docs_src truth corpus): {last}"
            )
    with tarfile.open(sdist) as tar:
        prefix = f"fastapi-{version}/docs_src/"
        members = [m for m in tar.getmembers() if m.name.startswith(prefix) and (m.isfile() or m.isdir())]
        tar.extractall(base, members=members, filter="data") if hasattr(tarfile, "data_filter") else tar.extractall(base, members=members)  # noqa: S202
    done.write_text("ok")
    return root


# --------------------------------------------------------------------------
# Loading one example as a fresh module (a new copy each time).

_counter = itertools.count(1)


@dataclass
class LoadedDoc:
    doc: DocFile
    module: types.ModuleType
    app: Any
    roots: tuple[str, ...]  # files or folders whose code is the app's own
    package: str
    warnings: list[str]

    def unload(self) -> None:
        for name in [m for m in sys.modules if m == self.package or m.startswith(self.package + ".")]:
            del sys.modules[name]


def load(doc: DocFile) -> LoadedDoc:
    """Import the example under a fresh package name, so each copy of the app is independent."""
    chapter_dir = doc.path.parent if doc.package_dir.is_file() else doc.package_dir.parent
    package = f"_truthdocs{next(_counter)}_{doc.chapter}"
    pkg = types.ModuleType(package)
    pkg.__path__ = [str(chapter_dir)]  # type: ignore[attr-defined]
    pkg.__package__ = package
    sys.modules[package] = pkg
    cwd = os.getcwd()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            module = importlib.import_module(f"{package}.{doc.module}")
    except BaseException:
        for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[name]
        raise
    finally:
        os.chdir(cwd)
    root = str(doc.package_dir.resolve())
    return LoadedDoc(doc, module, module.app, (root,), package, [f"{w.category.__name__}: {w.message}" for w in caught])
