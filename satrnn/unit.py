"""The analysis unit: each analysis declared once, in one record; and the commands, declared as data.

An `Analysis` is everything the application does with one analysis of the floors below (`analyses/`,
`automaton/`, `rnn/`):

    name      the key of its result in the shared cache (`satrnn.cache.Results`) and in the report's JSON
    result    its frozen result type (a `satrnn.rnn.record.Record`: units, shapes and alignment in its
              docstring; its `as_dict()` is the JSON document)
    compute   compute(results, **params) -> result: the analysis with the options the report, the ledger and
              the explorer share, reading what it needs (the forward pass, other analyses) from the cache
    render    render(result, **view) -> a rich renderable, shared by its command and its report section
    figure    figure(result, ax=None) -> Axes: draws the result on a matplotlib Axes (None: a new figure); the
              results' `.plot()`, `satrnn figures` and the HTML report use it (matplotlib imported lazily)
    options   its CLI options (`Option`s, shared ones from `satrnn.options`), which its command adds
    section   its report section (`Section`: title, build(results) -> (renderable, JSON dict)), or None
    measures  its ledger measurements: measurement key -> fn(results, **claim params) -> value or `Measured`

Where each piece lives: the computation and the result type in the floor below (`analyses/<name>.py`); the
unit record, its measures, its section builder and its command in the command's module
(`satrnn/commands/<command>.py`); the renderer in `satrnn/report/render.py` (helpers shared by all
renderers). See docs/architecture.md for the walk-through of adding an analysis.

A `Command` is a subcommand of `satrnn`: its name, help, options and `run(args) -> exit code`. The CLI
discovers them (`commands()`), the report its sections and the ledger its measures (`units()`), by reading
the modules of `satrnn.commands`.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import pkgutil
import re
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Generic, TypeVar

R = TypeVar("R")

_EMPTY: Mapping = MappingProxyType({})


# ---- options ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Option:
    """One command-line option or positional argument, defined once: `flags` and `kwargs` as for argparse's
    add_argument. `reads` / `writes`: the value names a file the command reads / writes (the CLI checks
    outputs against inputs and special files before any work, `satrnn.clikit.guard_paths`)."""
    flags: tuple[str, ...]
    kwargs: Mapping = field(default_factory=lambda: _EMPTY)
    reads: bool = False
    writes: bool = False

    def but(self, **changes) -> Option:
        """The same option with some add_argument arguments changed (a command's own default or help)."""
        return replace(self, kwargs=MappingProxyType({**self.kwargs, **changes}))

    @property
    def dest(self) -> str:
        if "dest" in self.kwargs:
            return self.kwargs["dest"]
        long = [f for f in self.flags if f.startswith("--")]
        name = (long or list(self.flags))[0]
        return name.lstrip("-").replace("-", "_")

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(*self.flags, **self.kwargs)
        if self.reads or self.writes:
            from satrnn.clikit import declare_inputs, declare_outputs
            (declare_inputs if self.reads else declare_outputs)(parser, self.dest)


def option(*flags: str, reads: bool = False, writes: bool = False, **kwargs) -> Option:
    """`Option(flags, kwargs)` written like add_argument."""
    return Option(tuple(flags), MappingProxyType(kwargs), reads=reads, writes=writes)


@dataclass(frozen=True)
class Arguments:
    """Command-line arguments that are not one plain option each (a mutually exclusive group, options
    generated from a table, file declarations that must come last), added in their place by add(parser)."""
    add: Callable[[argparse.ArgumentParser], None]

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        self.add(parser)


def flatten(options: Iterable) -> list:
    """Options (and `Arguments`) from (nested) tuples of them, in order."""
    out = []
    for o in options:
        if isinstance(o, (Option, Arguments)):
            out.append(o)
        else:
            out.extend(flatten(o))
    return out


# ---- the analysis unit --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Section:
    """A section of `satrnn report`: its key (`--sections NAME`, the key in the report's JSON), title, and
    build(results) -> (renderable, JSON dict). A `background` section spends its time in nogil kernels
    (slices.run_jobs): the report starts it on a background thread at the beginning; it must reach the
    shared cache only through its thread-safe accessors (`Results.get`, `Results.memo`)."""
    name: str
    title: str
    build: Callable
    background: bool = False


@dataclass(frozen=True, eq=False)
class Analysis(Generic[R]):
    """One analysis, declared once (see the module docstring for each field)."""
    name: str
    result: type
    compute: Callable[..., R]
    render: Callable[..., Any] | None = None
    figure: Callable[[R, Any], Any] | None = None
    options: tuple = ()
    section: Section | None = None
    measures: Mapping[str, Callable] = field(default_factory=lambda: _EMPTY)

    def __repr__(self) -> str:
        return f"Analysis({self.name!r})"


# ---- commands -------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Command:
    """A `satrnn` subcommand as data: name, help line, options (`Option`s and `Arguments`, in the order
    --help shows them; shared ones from `satrnn.options`), run(args) -> exit code. `units`: the analyses it
    shows."""
    name: str
    help: str
    run: Callable[[argparse.Namespace], int]
    options: tuple = ()
    units: tuple = ()

    def add_to(self, subparsers) -> argparse.ArgumentParser:
        p = subparsers.add_parser(self.name, help=self.help)
        for o in flatten(self.options):
            o.add_to(p)
        p.set_defaults(func=self.run)
        return p

    def __repr__(self) -> str:
        return f"Command({self.name!r})"


# ---- discovery ------------------------------------------------------------------------------------------

def command_modules() -> list:
    """The modules of `satrnn.commands`, imported, in name order."""
    from satrnn import commands
    return [importlib.import_module(f"{commands.__name__}.{m.name}")
            for m in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name)]


_MODULE_OF = {"import": "import_model", "export": "export_model"}   # commands whose module is named otherwise


def command_module_for(argv) -> object | None:
    """The one module of `satrnn.commands` that declares the command named by argv's first non-option
    word, imported alone (a run of one command need not import the other thirty: about 0.8 s), or None when
    there is no such word or module (then every module is needed: help, an unknown name)."""
    first = next((a for a in argv if not a.startswith("-")), None)
    if first is None or not re.fullmatch(r"[a-z][a-z0-9-]*", first):
        return None
    from satrnn import commands
    name = _MODULE_OF.get(first, first.replace("-", "_"))
    if importlib.util.find_spec(f"{commands.__name__}.{name}") is None:
        return None
    module = importlib.import_module(f"{commands.__name__}.{name}")
    command = getattr(module, "COMMAND", None)
    return module if isinstance(command, Command) and command.name == first else None


def commands() -> list[Command]:
    """Every `Command` declared (as `COMMAND`) by a module of `satrnn.commands`."""
    return [m.COMMAND for m in command_modules() if isinstance(getattr(m, "COMMAND", None), Command)]


def units() -> dict[str, Analysis]:
    """Every `Analysis` declared at module level in `satrnn.commands`, by name (a unit imported into a second
    module is the same record; two different units with one name are an error)."""
    out: dict[str, Analysis] = {}
    for m in command_modules():
        for v in vars(m).values():
            if isinstance(v, Analysis):
                if out.setdefault(v.name, v) is not v:
                    raise RuntimeError(f"two analyses named {v.name!r}")
    return out


class Collected(MutableMapping):
    """A mapping gathered from the analysis units on first use (`collect()` -> dict): the units live in the
    command modules, which import the modules that hold these mappings (the report's `SECTIONS`, the ledger's
    `MEASURES`). Writable, so that a test can replace one entry (monkeypatch.setitem)."""

    def __init__(self, collect: Callable[[], dict]):
        self._collect = collect
        self._d: dict | None = None

    def _all(self) -> dict:
        if self._d is None:
            self._d = self._collect()
        return self._d

    def __getitem__(self, k):
        return self._all()[k]

    def __setitem__(self, k, v):
        self._all()[k] = v

    def __delitem__(self, k):
        del self._all()[k]

    def __iter__(self):
        return iter(self._all())

    def __len__(self):
        return len(self._all())
