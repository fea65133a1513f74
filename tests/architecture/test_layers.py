"""Import rules of DESIGN.md §1, enforced two ways: import-linter contracts
(pyproject.toml) and a direct reading of every module's imports."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).parents[2] / "src" / "chancery"
ROOT = Path(__file__).parents[2]


def test_import_linter_contracts_are_kept() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports"))], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def imports_of(source: str, module: str) -> set[str]:
    """Absolute names a module imports (relative imports resolved against ``module``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = module.split(".")[: -node.level]
                base = ".".join(parent + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def protocol_violations(modules: dict[str, str]) -> list[str]:
    """Protocol packages that import a sibling protocol package."""
    problems = []
    for module, source in modules.items():
        parts = module.split(".")
        if len(parts) < 3 or parts[1] != "protocols" or parts[2].startswith("_"):
            continue
        own = parts[2]
        for name in sorted(imports_of(source, module)):
            target = name.split(".")
            if (
                len(target) >= 3
                and target[:2] == ["chancery", "protocols"]
                and target[2] != own
                and not target[2].startswith("_")
            ):
                problems.append(f"{module} imports {name}")
    return problems


def all_modules() -> dict[str, str]:
    modules = {}
    for path in SRC.rglob("*.py"):
        relative = path.relative_to(SRC.parent).with_suffix("")
        name = ".".join(relative.parts).removesuffix(".__init__")
        modules[name] = path.read_text()
    return modules


def test_no_protocol_package_imports_another() -> None:
    assert protocol_violations(all_modules()) == []


def test_the_protocol_check_catches_a_violation() -> None:
    fake = {
        "chancery.protocols.scep.server": "from chancery.protocols.acme import jws\n",
        "chancery.protocols.est.app": "from .._common import wants\nfrom ..rest import problems\n",
    }
    assert protocol_violations(fake) == [
        "chancery.protocols.scep.server imports chancery.protocols.acme",
        "chancery.protocols.scep.server imports chancery.protocols.acme.jws",
        "chancery.protocols.est.app imports chancery.protocols.rest",
        "chancery.protocols.est.app imports chancery.protocols.rest.problems",
    ]


@pytest.mark.parametrize("package", ["domain", "errors", "clock"])
def test_kernel_imports_nothing_above_it(package: str) -> None:
    allowed = ("chancery.domain", "chancery.errors", "chancery.clock")
    for module, source in all_modules().items():
        if module == f"chancery.{package}" or module.startswith(f"chancery.{package}."):
            for name in imports_of(source, module):
                if name.startswith("chancery."):
                    assert name.startswith(allowed), f"{module} imports {name}"


def test_only_the_store_imports_sqlalchemy() -> None:
    for module, source in all_modules().items():
        if module.startswith("chancery.store"):
            continue
        assert not any(n.split(".")[0] in ("sqlalchemy", "alembic") for n in imports_of(source, module)), module


def test_module_size_budget() -> None:
    """STYLE.md §8.3: modules under ~400 lines, 800 is the review trigger."""
    for path in SRC.rglob("*.py"):
        lines = len(path.read_text().splitlines())
        assert lines <= 800, f"{path} has {lines} lines"
