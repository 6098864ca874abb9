"""docs/cli.md names every command and sub-command of the `tenure` CLI."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import typer

from tenure.cli.main import app

CLI_DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def command_paths(
    command: object, path: tuple[str, ...] = ("tenure",)
) -> Iterator[tuple[str, ...]]:
    """Yield the word path of a click command and of every command below it."""
    yield path
    subcommands = getattr(command, "commands", None) or {}
    for name in sorted(subcommands):
        yield from command_paths(subcommands[name], (*path, name))


def documented_phrases(markdown: str) -> list[tuple[str, ...]]:
    """Return the words of every heading and every code span of a Markdown page."""
    headings = re.findall(r"^#+\s+(.*)$", markdown, flags=re.MULTILINE)
    spans = re.findall(r"`([^`\n]+)`", markdown)
    phrases = [heading.replace("`", " ") for heading in headings] + spans
    return [tuple(phrase.split()) for phrase in phrases]


def is_documented(path: tuple[str, ...], phrases: list[tuple[str, ...]]) -> bool:
    """Return whether some heading or code span starts with the command's words."""
    return any(phrase[: len(path)] == path for phrase in phrases)


def all_paths() -> list[tuple[str, ...]]:
    """Return the word path of every command of the Typer app."""
    return list(command_paths(typer.main.get_command(app)))


def test_walk_reaches_nested_sub_commands() -> None:
    paths = {" ".join(path) for path in all_paths()}
    assert {
        "tenure model train",
        "tenure health scorecards template",
        "tenure alerts rules load",
    } <= paths
    assert len(paths) > 60


def test_every_command_is_named_in_cli_doc() -> None:
    phrases = documented_phrases(CLI_DOC.read_text(encoding="utf-8"))
    missing = [" ".join(path) for path in all_paths() if not is_documented(path, phrases)]
    assert not missing, f"docs/cli.md does not name: {', '.join(missing)}"


def test_an_undocumented_command_is_caught() -> None:
    phrases = documented_phrases(CLI_DOC.read_text(encoding="utf-8"))
    assert not is_documented(("tenure", "model", "explode"), phrases)
    assert not is_documented(("tenure", "scores", "top", "now"), phrases)


def test_segments_delete_is_documented() -> None:
    phrases = documented_phrases(CLI_DOC.read_text(encoding="utf-8"))
    assert is_documented(("tenure", "segments", "delete"), phrases)
