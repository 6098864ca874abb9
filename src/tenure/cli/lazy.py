"""Command groups that import their module only when a command of theirs is looked up."""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup

Command = TyperCommand | TyperGroup


@dataclass(frozen=True)
class LazyEntry:
    """One top-level command: its name, the module that registers it, its one-line help."""

    name: str
    module: str
    help: str

    def stub(self) -> Command:
        """Return a command carrying only the name and help, for the root's help page."""
        return TyperCommand(name=self.name, help=self.help)


def load_commands(module_name: str) -> dict[str, Command]:
    """Import a command module; return the click commands its `register` adds by name."""
    module = importlib.import_module(module_name)
    holder = typer.Typer()
    module.register(holder)
    return dict(typer.main.get_group(holder).commands)


class LazyCommands(MutableMapping[str, Command]):
    """The root's commands: those already built, plus entries imported on first lookup."""

    def __init__(self, built: MutableMapping[str, Command], entries: tuple[LazyEntry, ...]):
        """Start from the commands Typer built; the entries load on demand."""
        self.built = dict(built)
        self.entries = {entry.name: entry for entry in entries}

    def is_loaded(self, name: str) -> bool:
        """Return whether NAME needs no import to be looked up."""
        return name in self.built or name not in self.entries

    def __getitem__(self, name: str) -> Command:
        """Return the command NAME, importing its module the first time."""
        if name not in self.built and name in self.entries:
            for loaded, command in load_commands(self.entries[name].module).items():
                self.built.setdefault(loaded, command)
        return self.built[name]

    def __setitem__(self, name: str, command: Command) -> None:
        """Add or replace a command."""
        self.built[name] = command

    def __delitem__(self, name: str) -> None:
        """Drop a command, built or not."""
        if name not in self.built and name not in self.entries:
            raise KeyError(name)
        self.built.pop(name, None)
        self.entries.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        """Yield the names in the entries' order, then commands registered elsewhere."""
        yield from self.entries
        yield from (name for name in self.built if name not in self.entries)

    def __len__(self) -> int:
        """Return how many commands there are."""
        return len(self.entries.keys() | self.built.keys())
