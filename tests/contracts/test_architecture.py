"""The architecture as tests: no import cycle anywhere, the import-linter contracts of
``make lint`` hold, and they fail on a forbidden import (so they cannot pass by accident)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (
    "control_plane",
    "notification_service",
    "media",
    "stream_workers",
    "analysis_kernels",
    "contracts",
    "downbeat",
)
AREAS = ("accounts", "calendars", "catalog", "files", "messages", "musicians", "notifications", "payments", "rooms")
# The rooms every area has, and may have (docs/ARCHITECTURE.md); services, queries and api may be packages.
AREA_REQUIRED = {"models", "services", "queries", "schemas", "api", "pages", "jobs"}
AREA_MODULES = AREA_REQUIRED | {"sockets", "auth", "limits"}
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _strongly_connected(graph: grimp.ImportGraph, modules: set[str]) -> list[list[str]]:
    """Tarjan's algorithm over the module import graph (imports inside functions included)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module) & modules:
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(modules):
        if module not in index:
            visit(module)
    return found


def test_no_module_takes_part_in_an_import_cycle() -> None:
    graph = grimp.build_graph(*PACKAGES)
    modules = {m for m in graph.modules if m.split(".")[0] in PACKAGES}
    assert len(modules) > 150  # the whole repository was read
    assert _strongly_connected(graph, modules) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for module in ("pkg", "pkg.a", "pkg.b", "pkg.c"):
        graph.add_module(module)
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg.a")
    graph.add_import(importer="pkg.c", imported="pkg.a")
    assert _strongly_connected(graph, {"pkg.a", "pkg.b", "pkg.c"}) == [["pkg.a", "pkg.b"]]


def test_every_area_holds_only_the_rooms_of_the_layout() -> None:
    for area in AREAS:
        folder = ROOT / "control_plane" / area
        names = {p.stem for p in folder.glob("*.py") if p.stem != "__init__"}
        names |= {p.name for p in folder.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
        assert names <= AREA_MODULES, (area, sorted(names - AREA_MODULES))
        assert names >= AREA_REQUIRED, (area, sorted(AREA_REQUIRED - names))


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(tree / "pyproject.toml")],
        cwd=tree,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tree), "COLUMNS": "250"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def repository_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = tmp_path_factory.mktemp("repository")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tree / package, ignore=shutil.ignore_patterns("__pycache__", "*.nb?"))
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def test_make_lint_keeps_every_contract_of_this_tree(repository_copy: Path) -> None:
    result = _lint(repository_copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


FORBIDDEN = [
    pytest.param(
        "control_plane/kits/http/forbidden_example.py",
        "from control_plane.catalog.models import CatalogSession\n",
        "Kits import no area",
        id="a-kit-importing-an-area",
    ),
    pytest.param(
        "notification_service/forbidden_example.py",
        "import control_plane.app\n",
        "Processes never import each other",
        id="a-process-importing-another",
    ),
    pytest.param(
        "control_plane/calendars/forbidden_example.py",
        "from control_plane.catalog.api import bookings\n",
        "Areas never import another area's routes or pages",
        id="an-area-importing-another-areas-routes",
    ),
    pytest.param(
        "control_plane/catalog/services/forbidden_example.py",
        "from flask import request\n",
        "Services know no Flask",
        id="a-service-importing-flask",
    ),
    pytest.param(
        "analysis_kernels/forbidden_example.py",
        "import downbeat.settings\n",
        "Contracts and kernels are leaves",
        id="a-kernel-importing-the-runtime",
    ),
]


@pytest.mark.parametrize(("path", "source", "contract"), FORBIDDEN)
def test_make_lint_fails_on_a_forbidden_import(repository_copy: Path, path: str, source: str, contract: str) -> None:
    module = repository_copy / path
    module.write_text(f'"""A deliberately forbidden import."""\n\n{source}')
    try:
        result = _lint(repository_copy)
    finally:
        module.unlink()
    assert result.returncode != 0
    broken = [line for line in result.stdout.splitlines() if " BROKEN" in line]
    assert any(line.startswith(contract) for line in broken), result.stdout


def test_make_lint_fails_on_a_layer_crossed_upwards(repository_copy: Path) -> None:
    """A model importing its own area's services breaks the layers contract."""
    models = repository_copy / "control_plane/payments/models.py"
    original = models.read_text()
    models.write_text(original + "\nfrom control_plane.payments.services import gateway  # noqa: E402\n")
    try:
        result = _lint(repository_copy)
    finally:
        models.write_text(original)
    assert result.returncode != 0
    assert "Layers inside every area" in result.stdout and "BROKEN" in result.stdout


def test_make_lint_fails_on_a_cycle_between_areas(repository_copy: Path) -> None:
    models = repository_copy / "control_plane/payments/models.py"
    original = models.read_text()
    models.write_text(original + "\nfrom control_plane.catalog.models import Booking  # noqa: E402\n")
    try:
        result = _lint(repository_copy)
    finally:
        models.write_text(original)
    assert result.returncode != 0
    assert any(
        line.startswith("No import cycles between siblings") and " BROKEN" in line
        for line in result.stdout.splitlines()
    ), result.stdout
