"""Every third-party package the code imports is declared and pinned; torch's dependencies are pinned too.

A package that only arrives as somebody else's dependency can vanish or change under an
upgrade of that somebody; so each import in the rooms (lazy imports inside functions
included) must name a distribution listed in pyproject.toml, exactly pinned, and every
dependency of torch (installed first, on its own) must be pinned in constraints.txt.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[3]
ROOMS = ("kernel", "reviewpulse", "inference", "stream", "web", "producers", "dashboards")
#: Imports that need a package the imported module does not declare as required.
IMPLIED = {"starlette.templating": "jinja2", "starlette.middleware.sessions": "itsdangerous"}
#: request.form() in Starlette needs python-multipart; checked by name because nothing imports it.
FORM_PARSING = ("request.form()", "python-multipart")


def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def declared(requirements: list[str]) -> dict[str, Requirement]:
    return {canonicalize_name(req.name): req for req in map(Requirement, requirements)}


def imported_modules(folder: Path) -> set[str]:
    """Dotted names of every absolute import in the folder's Python files."""
    names: set[str] = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
    return names


def third_party_distributions(folders: list[Path]) -> dict[str, set[str]]:
    """distribution name -> the modules that pull it in (stdlib and our own rooms left out)."""
    own = {path.name for path in REPO.iterdir() if path.is_dir()} | set(ROOMS)
    owners = importlib.metadata.packages_distributions()
    needed: dict[str, set[str]] = {}
    for folder in folders:
        for module in imported_modules(folder):
            top = module.split(".")[0]
            if top in sys.stdlib_module_names or top in own or top == "__future__":
                continue
            distributions = owners.get(top)
            assert distributions, f"{module} (imported in {folder.name}/) belongs to no installed distribution"
            for distribution in distributions:
                needed.setdefault(canonicalize_name(distribution), set()).add(module)
            implied = next((dist for prefix, dist in IMPLIED.items() if module.startswith(prefix)), None)
            if implied:
                needed.setdefault(implied, set()).add(module)
    return needed


def test_every_import_of_the_rooms_is_a_declared_dependency() -> None:
    dependencies = declared(pyproject()["project"]["dependencies"])
    folders = [REPO / room for room in ROOMS if (REPO / room).is_dir()]
    needed = third_party_distributions(folders)
    missing = {dist: sorted(modules) for dist, modules in needed.items() if dist not in dependencies}
    assert not missing, f"add to [project] dependencies in pyproject.toml (pinned ==): {missing}"
    if any(FORM_PARSING[0] in path.read_text() for folder in folders for path in folder.rglob("*.py")):
        assert FORM_PARSING[1] in dependencies


def test_every_import_of_the_tests_is_declared() -> None:
    project = pyproject()["project"]
    dependencies = declared(project["dependencies"] + project["optional-dependencies"]["test"])
    needed = third_party_distributions([REPO / "tests"])
    missing = {dist: sorted(modules) for dist, modules in needed.items() if dist not in dependencies}
    assert not missing, f"add to [project.optional-dependencies] test in pyproject.toml: {missing}"


def test_every_declared_dependency_is_pinned_and_agrees_with_the_constraints() -> None:
    project = pyproject()["project"]
    constraints = constraint_pins()
    for requirement in (*project["dependencies"], *project["optional-dependencies"]["test"]):
        req = Requirement(requirement)
        pins = [spec.version for spec in req.specifier if spec.operator == "=="]
        assert pins, f"{requirement}: pin it exactly (==) in pyproject.toml"
        name = canonicalize_name(req.name)
        assert constraints.get(name, pins[0]) == pins[0], f"{req.name}: pyproject {pins[0]}, constraints {constraints[name]}"


def constraint_pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not an exact pin"
            pins[canonicalize_name(name)] = version
    return pins


def test_torch_and_its_own_dependencies_are_pinned_by_the_constraints() -> None:
    try:
        requirements = importlib.metadata.requires("torch") or []
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("torch is not installed here")
    pins = constraint_pins()
    torch_pin = re.search(r'"torch==([\d.]+)"', (REPO / "pyproject.toml").read_text())
    assert torch_pin and pins.get("torch") == torch_pin.group(1)
    for requirement in map(Requirement, requirements):
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue  # an optional extra of torch
        name = canonicalize_name(requirement.name)
        assert name in pins, f"torch needs {requirement}: pin {requirement.name} in constraints.txt"
        assert requirement.specifier.contains(pins[name], prereleases=True), f"constraints.txt {name}=={pins[name]} breaks torch's {requirement}"


def test_torch_is_installed_with_the_constraints_everywhere() -> None:
    makefile = (REPO / "Makefile").read_text()
    dockerfile = (REPO / "deploy" / "Dockerfile").read_text()
    assert re.search(r"pip install -q -c constraints\.txt torch==", makefile)
    assert re.search(r"pip install -c constraints\.txt torch==", dockerfile)
