"""Frozen dataclasses to and from plain JSON, checked field by field.

Job payloads and run plans are stored as JSON (the `jobs.payload` and `runs.config` columns) and
read back by another process, maybe another release. Like a checkpoint, what is read must say
what it is: `decode` refuses unknown fields (naming them), missing required fields, values of the
wrong type and `Literal` values outside their set, so a bad or foreign row fails at once with a
reason instead of deep inside a runner. `Versioned` dataclasses also carry a format version
(`"v"`), and a version this code does not know is refused the same way.

Supported field types: bool, int, float (an int is accepted), str, `Literal[...]`, `X | None`,
unions of those, `tuple[X, ...]`, nested dataclasses, and `dict[str, Any]` (passed through).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from functools import cache
from typing import Any, ClassVar, Literal, Self, TypeVar, Union, get_args, get_origin

T = TypeVar("T")


class ContractError(ValueError):
    """Stored JSON that is not a valid value of its contract type; the message says where."""


class Versioned:
    """Mixin for the top-level stored types: `to_dict` writes `"v"`, `from_dict` checks it."""

    VERSION: ClassVar[int] = 1

    def to_dict(self) -> dict[str, Any]:
        return {"v": self.VERSION, **encode(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        if not isinstance(data, Mapping):
            raise ContractError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
        version = data.get("v")
        if version != cls.VERSION:
            raise ContractError(
                f"{cls.__name__} format version {version!r} is not the one this albumbot "
                f"understands ({cls.VERSION}); was it written by another release?"
            )
        return decode(cls, {k: v for k, v in data.items() if k != "v"})


def encode(value: Any) -> Any:
    """A dataclass (or a value inside one) as JSON-able data: tuples become lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    return value


def decode(cls: type[T], data: Any, *, where: str = "") -> T:
    """`cls` built from `data`, every field checked against its annotation."""
    where = where or cls.__name__
    if not isinstance(data, Mapping):
        raise ContractError(f"{where}: expected an object, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ContractError(f"{where}: unknown fields {', '.join(unknown)}")
    hints = _hints(cls)  # type: ignore[arg-type]  # a class is hashable; mypy sees type[T]
    values = {}
    for name, f in fields.items():
        if name in data:
            values[name] = _value(hints[name], data[name], f"{where}.{name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ContractError(f"{where}: missing field {name}")
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise ContractError(f"{where}: {exc}") from None


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _value(tp: Any, value: Any, where: str) -> Any:
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(tp) if a is not type(None)]
        if value is None and len(options) < len(get_args(tp)):
            return None
        if len(options) == 1:  # `X | None` holding a value: X's own error says what is wrong
            return _value(options[0], value, where)
        for option in options:
            try:
                return _value(option, value, where)
            except ContractError:
                continue
        raise ContractError(f"{where}: {value!r} fits none of {_name(tp)}")
    if origin is Literal:
        if value in get_args(tp) and type(value) in {type(a) for a in get_args(tp)}:
            return value
        raise ContractError(f"{where}: {value!r} is not one of {list(get_args(tp))}")
    if origin is tuple:
        item = get_args(tp)[0]
        if not isinstance(value, (list, tuple)):
            raise ContractError(f"{where}: expected a list, got {type(value).__name__}")
        return tuple(_value(item, v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ContractError(f"{where}: expected an object, got {type(value).__name__}")
        return dict(value)
    if dataclasses.is_dataclass(tp):
        return decode(tp, value, where=where)  # type: ignore[arg-type]
    return _scalar(tp, value, where)


def _scalar(tp: Any, value: Any, where: str) -> Any:
    if tp is type(None):
        if value is None:
            return None
    elif tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    else:
        raise TypeError(f"{where}: the codec does not support {tp!r}")
    raise ContractError(f"{where}: expected {_name(tp)}, got {value!r}")


def _name(tp: Any) -> str:
    """`int | None`, `'last' | 'all' | int`: a type as the error message names it."""
    if get_origin(tp) in (Union, types.UnionType):
        return " | ".join(_name(a) for a in get_args(tp))
    if get_origin(tp) is Literal:
        return " | ".join(repr(a) for a in get_args(tp))
    return "None" if tp is type(None) else getattr(tp, "__name__", str(tp))
