"""One registry for every strategy, built-in or yours, found the same way:

- a registered name: installed packages register strategy classes in the entry-point group
  `botrader.strategies` (Botrader's own `simple_rsi` and `rsi_sma` in botrader-core, `ppo` in
  botrader-jobs, yours in your package's pyproject.toml);
- `path/to/file.py:ClassName`: a file, imported on its own;
- `package.module:ClassName`: a module on the Python path.

The TradingBot CRD's `strategy.type` enum, the API's `/strategies`, the command line's help
and the walk-forward and optimisation spaces are all derived from what is found here.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import sys
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

from botrader.core.errors import UserError
from botrader.core.strategy.base import Strategy

GROUP = "botrader.strategies"
CUSTOM = "custom"  # a manifest's strategy.type for a referenced class (strategy.ref)
# Registered by a Botrader distribution that may not be installed here.
SHIPPED_ELSEWHERE = {"ppo": "botrader-jobs[rl]"}


@functools.cache
def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def registered() -> dict[str, type[Strategy]]:
    """Every registered strategy class by name (aliases not repeated)."""
    return {name: _load_entry_point(ep) for name, ep in sorted(_entry_points().items())}


def builtin_names() -> list[str]:
    """Names and aliases of the strategies Botrader's own distributions register."""
    names = []
    for name, ep in _entry_points().items():
        if ep.dist is not None and ep.dist.name.startswith("botrader-"):
            names += [name, *_load_entry_point(ep).aliases]
    return sorted(set(names))


def _load_entry_point(ep: EntryPoint) -> type[Strategy]:
    try:
        cls = ep.load()
    except ModuleNotFoundError as exc:
        raise UserError(f"strategy {ep.name!r} cannot be imported ({exc.name} is missing)") from None
    return _checked(cls, f"entry point {ep.name!r} ({ep.value})")


def _checked(cls: Any, where: str) -> type[Strategy]:
    if not (isinstance(cls, type) and issubclass(cls, Strategy)) or cls is Strategy:
        raise UserError(f"{where} is not a Strategy subclass (from botrader.core.strategy import Strategy)")
    return cls


def _by_name(name: str) -> type[Strategy] | None:
    eps = _entry_points()
    if name in eps:
        return _load_entry_point(eps[name])
    for ep in eps.values():
        cls = _load_entry_point(ep)
        if name in cls.aliases:
            return cls
    return None


@functools.cache
def _load_file(path: str) -> Any:
    file = Path(path)
    if not file.is_file():
        raise UserError(f"strategy file not found: {path!r}")
    module_name = "_botrader_strategy_" + hashlib.sha1(str(file.resolve()).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:
        raise UserError(f"cannot import strategy file {path!r}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pickling look classes up by module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        del sys.modules[module_name]
        raise UserError(f"cannot import strategy file {path!r}: {exc.msg} (line {exc.lineno})") from None
    except Exception as exc:  # a user's module may raise anything at import
        del sys.modules[module_name]
        raise UserError(f"cannot import strategy file {path!r}: {type(exc).__name__}: {exc}") from None
    return module


def _load_module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        raise UserError(f"cannot import strategy module {name!r}: no module named {exc.name!r}") from None
    except Exception as exc:  # a user's module may raise anything at import
        raise UserError(f"cannot import strategy module {name!r}: {type(exc).__name__}: {exc}") from None


def resolve(ref: str) -> type[Strategy]:
    """The strategy class a name or reference stands for, or a UserError saying why not."""
    ref = ref.strip()
    if ":" not in ref:
        found = _by_name(ref)
        if found is not None:
            return found
        if ref in SHIPPED_ELSEWHERE:
            dist = SHIPPED_ELSEWHERE[ref]
            raise UserError(
                f"strategy {ref!r} comes with {dist}, which is not installed here: pip install '{dist}'"
            )
        names = ", ".join(builtin_names() + sorted(set(_entry_points()) - set(builtin_names())))
        raise UserError(
            f"unknown strategy {ref!r}: expected one of {names}, a file (path/to/file.py:Class) "
            "or a module (package.module:Class)"
        )
    where, _, attr = ref.rpartition(":")
    if not where or ":" in where or not attr.isidentifier():
        raise UserError(
            f"bad strategy reference {ref!r}: expected path/to/file.py:Class or package.module:Class"
        )
    module = _load_file(where) if where.endswith(".py") or "/" in where else _load_module(where)
    cls = getattr(module, attr, None)
    if cls is None:
        classes = sorted(
            n
            for n, v in vars(module).items()
            if isinstance(v, type) and issubclass(v, Strategy) and v is not Strategy
        )
        raise UserError(f"{where} has no class {attr!r} (strategies there: {', '.join(classes) or 'none'})")
    return _checked(cls, ref)


def make(ref: str, params: dict[str, Any] | None = None) -> Strategy:
    """A strategy instance with its parameters validated (a UserError names a bad one)."""
    return resolve(ref)(**(params or {}))


def describe_all() -> list[dict[str, Any]]:
    """Every registered strategy, for `/strategies` and `botrader strategy list`."""
    out = []
    for _, ep in sorted(_entry_points().items()):
        try:
            info = _load_entry_point(ep).describe()
        except UserError:
            continue  # registered by a package whose dependencies are not installed here
        out.append({**info, "source": ep.dist.name if ep.dist is not None else ep.value})
    return out
