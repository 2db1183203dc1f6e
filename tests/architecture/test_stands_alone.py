"""The repository stands alone: no file cites planning notes kept outside it (a design document
and its numbered sections) or a tracker's issue numbers; what a reader needs is in docs/."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ["domain", "application", "infrastructure", "projections", "interfaces", "tests", "docs"]
TOP_FILES = ["README.md", "Makefile", "pyproject.toml", "docker-compose.yml", "Dockerfile"]
SUFFIXES = {".py", ".md", ".toml", ".yml", ".yaml", ".sh", ".txt", ".json", ".cfg", ""}
OUTSIDE_NOTES = re.compile(
    "|".join(
        [
            r"design" + r"\.md",  # the planning notes' file
            "\u00a7",  # a section sign: "section 7" of notes outside
            r"\b[Ii]ssue" + r"s?\s*#?\d+",  # an issue's number
            r"\bcomes with issue\b",
        ]
    )
)


def _files() -> list[Path]:
    found = [ROOT / name for name in TOP_FILES if (ROOT / name).exists()]
    for folder in SOURCES:
        found += [p for p in (ROOT / folder).rglob("*") if p.is_file() and p.suffix in SUFFIXES]
    return [p for p in found if "__pycache__" not in p.parts]


def test_nothing_cites_notes_or_issue_numbers_outside_the_repository() -> None:
    citations = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _files()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if OUTSIDE_NOTES.search(line)
    ]
    assert citations == []


def test_the_check_finds_a_citation() -> None:
    for cited in ["see design" + ".md", "as in \u00a77", "fixed in is" + "sue 3", "Is" + "sue #12"]:
        assert OUTSIDE_NOTES.search(cited), cited
    assert not OUTSIDE_NOTES.search("the issue is a race")
