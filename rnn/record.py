"""Typed results: the frozen records that rnn/, automaton/ and analyses/ return, and their one JSON form.

A result that crosses a module boundary is a frozen dataclass deriving from `Record`, never a dict read by
string. Its docstring states units, shapes and alignment (h_t is the state after byte t; it predicts byte
t+1). Its JSON document, what `--json` prints, is `as_dict()`:

- the fields in declaration order, each under its own name, or under the name given with `key("...")` where
  the JSON key is not a Python name (`"count_abs_gt_0.01"`, `"class"`, `"1"`);
- nested records become dicts; tuples and lists become lists; dicts keep their keys (a dict field is a
  mapping whose keys are data: bytes, pattern classes, seeds, k values);
- a field declared `key(omit_none=True)` is left out while it is None (a part that exists only for some
  inputs or options), one declared `key(json=False)` is never written (arrays kept for computing, such as an
  (H, H) count matrix);
- `JSON_PROPERTIES` (a class attribute) names derived properties written after the fields;
- values stay numpy: the application's writer (`satrnn.clikit.to_json`) turns them into JSON numbers and
  NaN/inf into null.

Records that hold arrays are declared with `eq=False` (numpy arrays have no single truth value); compare
their `as_dict()` instead.

`plot(ax=None)` draws a record that has a figure. The figures belong to the application (`satrnn.figures`,
matplotlib), which this floor must not import: the application registers them here (`register_plot`, or a
loader with `register_plot_loader` that registers them on first use), and a record type without one says so.
"""
from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

_KEY = "satrnn_json_key"
_PLOTTERS: dict[type, Any] = {}
_PLOT_LOADERS: list = []
_OMIT_NONE = "satrnn_json_omit_none"
_SKIP = "satrnn_json_skip"


def key(name: str | None = None, *, omit_none: bool = False, json: bool = True, **field_kwargs) -> Any:
    """A dataclass field with JSON metadata: its JSON key `name` (default: the field's name), left out while
    None (`omit_none`), or never written (`json=False`). Other arguments go to `dataclasses.field`
    (e.g. `default=None`)."""
    meta = dict(field_kwargs.pop("metadata", None) or {})
    meta.update({_KEY: name, _OMIT_NONE: omit_none, _SKIP: not json})
    return dataclasses.field(metadata=meta, **field_kwargs)


def json_value(v):
    """The JSON form of a value inside a record: records as dicts, tuples and lists as lists, dicts with
    their keys; anything else (numbers, strings, numpy values and arrays) unchanged."""
    if isinstance(v, Record):
        return v.as_dict()
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return {f.name: json_value(getattr(v, f.name)) for f in dataclasses.fields(v)}
    if isinstance(v, dict):
        return {k: json_value(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [json_value(x) for x in v]
    return v


def register_plot(cls: type, draw) -> None:
    """Give the records of type `cls` a figure: draw(record, ax) draws it on a matplotlib Axes (ax None: a new
    figure) and returns the Axes."""
    _PLOTTERS[cls] = draw


def register_plot_loader(load) -> None:
    """load() registers figures (`register_plot`); it runs once, when a record without one is first plotted."""
    _PLOT_LOADERS.append(load)


class Record:
    """Base of every typed result (a frozen dataclass): `as_dict()` is its JSON document, `plot()` its figure
    where it has one (module docstring)."""

    JSON_PROPERTIES: ClassVar[tuple[str, ...]] = ()

    def plot(self, ax=None):
        """Draw this result on `ax` (a matplotlib Axes; None: a new figure, shown in a notebook) and return the
        Axes. TypeError for a result type that has no figure."""
        while type(self) not in _PLOTTERS and _PLOT_LOADERS:
            _PLOT_LOADERS.pop(0)()
        draw = _PLOTTERS.get(type(self))
        if draw is None:
            raise TypeError(f"{type(self).__name__} has no figure (satrnn figures --help lists the figures)")
        return draw(self, ax)

    def as_dict(self) -> dict:
        """The JSON document of this result: fields in order, under their JSON keys (see the module docstring)."""
        out = {}
        for f in dataclasses.fields(self):
            if f.metadata.get(_SKIP):
                continue
            v = getattr(self, f.name)
            if v is None and f.metadata.get(_OMIT_NONE):
                continue
            out[f.metadata.get(_KEY) or f.name] = json_value(v)
        for name in self.JSON_PROPERTIES:
            out[name] = json_value(getattr(self, name))
        return out
