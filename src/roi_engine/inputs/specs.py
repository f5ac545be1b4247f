"""Shared plumbing for the declarative TOML files: load, validate with pydantic, explain errors.

A pydantic ``ValidationError`` is turned into one :class:`~roi_engine.errors.InputError` naming the
file and the key path (``outcomes[0].consequences[1].sector``), with the closest valid key for a
misspelt one.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from roi_engine.errors import InputError, did_you_mean
from roi_engine.inputs.numbers import shown

Model = TypeVar("Model", bound=BaseModel)
UNION_LABELS = frozenset({"str", "float", "int", "bool"})


class StrictModel(BaseModel):
    """A spec block: unknown keys are errors (a typo must never be silently ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def read_toml(path: str | Path) -> dict[str, Any]:
    """Parse a TOML file, or raise InputError naming the file and line."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", file=path) from None
    except IsADirectoryError:
        raise InputError("is a folder, not a TOML file", file=path) from None
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror or exc})", file=path) from None
    try:
        # A UTF-8 byte-order mark (Notepad, some Excel exports) is not part of the TOML: drop it.
        text = data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("not a UTF-8 text file", file=path,
                         hint="save it as UTF-8 text (a TOML file is plain text)") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", file=path) from None


def key_path(loc: tuple[Any, ...]) -> str:
    """``('outcomes', 0, 'consequences', 1, 'sector')`` -> ``outcomes[0].consequences[1].sector``."""
    text = ""
    for part in loc:
        if isinstance(part, str) and (part in UNION_LABELS or "[" in part):
            continue  # pydantic's label for a member of a union (str | float), not a key
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The valid field names of the block at ``loc`` (for did-you-mean on an unknown key)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        current = _model_in(field.annotation)
    fields = getattr(current, "model_fields", {})
    return [f.alias or name for name, f in fields.items()]  # the key as written (``from``, not ``from_``)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def validate(model: type[Model], data: dict[str, Any], path: str | Path) -> Model:
    """Validate ``data`` against ``model``; the first error becomes one InputError."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        # An unknown key first: a misspelt required key shows as both 'missing' and 'extra'.
        errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        error = errors[0]
        loc = tuple(error["loc"])
        where = key_path(loc) or None
        kind = error["type"]
        if kind == "extra_forbidden":
            key = str(loc[-1])
            valid = _fields_at(model, loc[:-1])
            raise InputError(f"unknown key '{key}'", file=path, where=where,
                             hint=did_you_mean(key, valid) or f"valid keys: {valid}") from None
        if kind == "missing" and loc and isinstance(loc[-1], int):  # a fixed-length list, too short
            where = key_path(loc[:-1]) or None
            raise InputError(f"has too few items (item {loc[-1] + 1} is missing)", file=path,
                             where=where) from None
        if kind == "missing":
            raise InputError("required key is missing", file=path, where=where) from None
        given = error.get("input")
        shown_input = "" if isinstance(given, dict) else f" (got {_shown_input(given)})"  # a whole block
        same = {e["type"] for e in exc.errors() if key_path(tuple(e["loc"])) == key_path(loc)}
        if "string_type" in same and same & {"float_type", "int_type"}:  # a Ref: name or number
            raise InputError(f"should be a number or a parameter name in quotes{shown_input}", file=path,
                             where=where) from None
        raise InputError(f"{_plain_message(error)}{shown_input}", file=path, where=where) from None


# pydantic's error types in the words a commissioner would use.
_MESSAGES = {
    "int_type": "should be a whole number", "int_parsing": "should be a whole number",
    "int_from_float": "should be a whole number", "float_type": "should be a number",
    "float_parsing": "should be a number", "finite_number": "should be a finite number",
    "bool_type": "should be true or false", "bool_parsing": "should be true or false",
    "string_type": "should be text in quotes", "list_type": "should be a list [...]",
    "tuple_type": "should be a list [...]", "dict_type": "should be a table",
    "model_type": "should be a table",
    "too_short": "has too few items", "too_long": "has too many items",
}


def _plain_message(error: dict[str, Any]) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    bounds = {"greater_than_equal": "at least", "greater_than": "more than",
              "less_than_equal": "at most", "less_than": "less than"}
    if kind in bounds:
        bound = next(iter(ctx.values()), "")
        if isinstance(bound, float) and bound.is_integer():
            bound = int(bound)
        return f"should be {bounds[kind]} {bound}".rstrip()
    if kind == "literal_error":
        return f"should be {ctx.get('expected', 'one of the listed values')}"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def _shown_input(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return shown(value)
    text = repr(value)
    return text if len(text) <= 60 else text[:60] + "..."
