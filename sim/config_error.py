"""One clear line for a bad configuration: the file, the field and what is allowed.

A scenario that does not validate must never end in a traceback (DEVELOPERS.md, "Bad input").
:func:`format_validation_error` turns a pydantic :class:`~pydantic.ValidationError` into
``FILE: FIELD: PROBLEM`` using pydantic's own wording (which states the bound, e.g. "Input
should be less than or equal to 100"), adds the allowed keys when the problem is an unknown
key, and says how many further problems there are.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError


class ConfigError(Exception):
    """A configuration problem, already formatted for the user as one line.

    Attributes:
        source: The file (or ``"<env>"``, ``"<cli>"``) the problem is in.
        field: Dotted path of the offending field (may be empty).
    """

    def __init__(self, source: str, field: str, problem: str) -> None:
        self.source = source
        self.field = field
        self.problem = problem
        where = f"{source}: {field}: " if field else f"{source}: "
        super().__init__(where + problem)


def _allowed_keys(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str] | None:
    """The field names allowed at ``loc`` (the parent of an unknown key), if known."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if fields is None or part not in fields:
            return None
        annotation = fields[part].annotation
        current = _model_in(annotation)
        if current is None:
            return None
    fields = getattr(current, "model_fields", None)
    return sorted(fields) if fields is not None else None


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation (plain, Optional, list/dict of), if one."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def format_validation_error(
    error: ValidationError, source: str, model: type[BaseModel] | None = None
) -> ConfigError:
    """Condense a pydantic error into one :class:`ConfigError`.

    Args:
        error: The validation error.
        source: File name (or other origin) to name in the message.
        model: The root model, used to list allowed keys for unknown-key errors.

    Returns:
        The formatted error (not raised).
    """
    problems = error.errors(include_url=False)
    first = problems[0]
    loc = tuple(first["loc"])
    field = ".".join(str(p) for p in loc)
    message = str(first["msg"])
    if first["type"] == "extra_forbidden":
        message = f"unknown key {loc[-1]!r}"
        allowed = _allowed_keys(model, loc) if model is not None else None
        if allowed:
            message += f" (allowed: {', '.join(allowed)})"
    elif "input" in first and first["type"] != "missing":
        shown = repr(first["input"])
        if len(shown) > 60:
            shown = shown[:57] + "..."
        message += f" (got {shown})"
    if len(problems) > 1:
        message += f" [and {len(problems) - 1} more problem(s)]"
    return ConfigError(source, field, message)
