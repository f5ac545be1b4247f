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

Model = TypeVar("Model", bound=BaseModel)
UNION_LABELS = frozenset({"str", "float", "int", "bool"})


class StrictModel(BaseModel):
    """A spec block: unknown keys are errors (a typo must never be silently ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def read_toml(path: str | Path) -> dict[str, Any]:
    """Parse a TOML file, or raise InputError naming the file and line."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise InputError("file not found", file=path) from None
    except IsADirectoryError:
        raise InputError("is a folder, not a TOML file", file=path) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", file=path) from None
    except UnicodeDecodeError:
        raise InputError("not a text file", file=path) from None


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
        if kind == "missing":
            raise InputError("required key is missing", file=path, where=where) from None
        message = error["msg"]
        if message.startswith("Value error, "):
            message = message[len("Value error, "):]
        given = error.get("input")
        if not isinstance(given, dict):  # a whole block would make the line unreadable
            message += f" (got {given!r})"
        raise InputError(message, file=path, where=where) from None
