"""The dependency rule (docs/architecture.md, "Layers") is checked by import-linter's contracts in
pyproject.toml, plus one rule import-linter cannot express: from eventsourcing, the domain
may import only eventsourcing.domain."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def run_import_linter(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(cwd / "pyproject.toml"), "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"},
    )


def test_the_project_keeps_its_layer_contracts() -> None:
    result = run_import_linter(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def copy_project(into: Path) -> None:
    for layer in ("domain", "application", "infrastructure", "projections", "interfaces"):
        shutil.copytree(ROOT / layer, into / layer, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", into / "pyproject.toml")


def test_the_contracts_catch_a_domain_module_importing_infrastructure(tmp_path: Path) -> None:
    copy_project(tmp_path)
    (tmp_path / "domain" / "leak.py").write_text("from infrastructure.settings import Settings\n")
    (tmp_path / "application" / "leak.py").write_text("import interfaces.cli\n")
    result = run_import_linter(tmp_path)
    assert result.returncode != 0
    assert "domain.leak -> infrastructure.settings" in result.stdout
    assert "application.leak -> interfaces.cli" in result.stdout


def test_the_contracts_catch_a_driver_imported_directly_or_through_infrastructure(tmp_path: Path) -> None:
    copy_project(tmp_path)
    (tmp_path / "application" / "leak.py").write_text("import sqlite3\n")
    (tmp_path / "projections" / "leak.py").write_text("import redis\n")
    (tmp_path / "projections" / "engine" / "leak.py").write_text("import infrastructure.read_database\n")
    (tmp_path / "projections" / "models" / "leak.py").write_text("import projections.engine.read_models\n")
    result = run_import_linter(tmp_path)
    assert result.returncode != 0
    assert "application.leak -> sqlite3" in result.stdout
    assert "projections.leak -> redis" in result.stdout
    assert "projections.engine.leak -> infrastructure.read_database" in result.stdout  # which imports sqlite3
    assert "projections.models.leak -> projections.engine.read_models" in result.stdout


def eventsourcing_imports(source: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "eventsourcing"}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "eventsourcing":
            found.add(node.module or "")
    return found


def test_the_domain_uses_only_the_domain_part_of_eventsourcing() -> None:
    used = set()
    for path in (ROOT / "domain").rglob("*.py"):
        used |= eventsourcing_imports(path.read_text())
    assert used <= {"eventsourcing.domain"}, used


def test_the_eventsourcing_check_sees_other_modules() -> None:
    assert eventsourcing_imports("from eventsourcing.postgres import X\nimport eventsourcing.sqlite") == {
        "eventsourcing.postgres",
        "eventsourcing.sqlite",
    }
