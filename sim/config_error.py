"""One clear line for a bad configuration: the file, the field and what is allowed.

A scenario that does not validate must never end in a traceback (DEVELOPERS.md, "Bad input").
:func:`format_validation_error` turns a pydantic :class:`~pydantic.ValidationError` into
``FILE: FIELD: PROBLEM`` using pydantic's own wording (which states the bound, e.g. "Input
should be less than or equal to 100"), adds the allowed keys when the problem is an unknown
key, and says how many further problems there are.

The field path is what the user wrote: pydantic's union-member labels (a discriminator tag
like ``v2_regression``, a type like ``dict[str,str]``) are left out. A range check of a
component dataclass (``pool.v2``...) names its field first ("max_pool_size must be >= 1"), so
that field is added to the path and its value shown, not the whole section.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

VALUE_SHOWN = "value_shown"
"""The error type of a validator's problem that names the bad value itself (raise
``pydantic_core.PydanticCustomError(VALUE_SHOWN, message)``): the value given, such as an
alert-rules file's name, is then not appended, as it is not the value at fault."""


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


def yaml_problem(error: yaml.YAMLError) -> str:
    """A YAML error on one line: ``line L, column C: PROBLEM``.

    ``str(error)`` spans several lines (the offending text and a caret line); the problem and
    its position are all a user needs.

    Args:
        error: The error PyYAML raised.

    Returns:
        The problem with its 1-based line and column when PyYAML gives them.
    """
    mark = getattr(error, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    problem = getattr(error, "problem", None) or "malformed YAML"
    return f"{where}{problem}"


def _classes_in(annotation: Any) -> list[type]:
    """The pydantic models and dataclasses inside an annotation.

    Looks through plain classes, Optional, unions, ``Annotated`` and containers, and keeps
    declaration order.
    """
    if isinstance(annotation, type) and (
        issubclass(annotation, BaseModel) or dataclasses.is_dataclass(annotation)
    ):
        return [annotation]
    found: list[type] = []
    for arg in getattr(annotation, "__args__", ()):
        found.extend(c for c in _classes_in(arg) if c not in found)
    return found


def _fields_of(cls: type) -> dict[str, Any]:
    """Field name to annotation of a pydantic model or a dataclass."""
    if issubclass(cls, BaseModel):
        return {name: f.annotation for name, f in cls.model_fields.items()}
    try:
        hints = typing.get_type_hints(cls)
    except (NameError, TypeError):  # unresolvable forward reference: names are enough
        hints = {}
    return {f.name: hints.get(f.name, f.type)
            for f in dataclasses.fields(cls)}  # type: ignore[arg-type]  # checked by caller


def _is_tagged(cls: type, tag: str) -> bool:
    """Whether ``tag`` selects this model in a discriminated union (its ``kind`` literal)."""
    if not (issubclass(cls, BaseModel) and "kind" in cls.model_fields):
        return False
    field = cls.model_fields["kind"]
    return tag in typing.get_args(field.annotation) or field.default == tag


_TYPE_LABELS = frozenset({"str", "int", "float", "bool", "none", "None"})
"""Labels pydantic gives plain-type members of a union in an error location."""


def _walk(model: type[BaseModel], loc: tuple[int | str, ...]
          ) -> tuple[list[type], list[int | str]] | None:
    """Follow an error location through the models.

    pydantic puts union-member labels into ``loc`` (a discriminator tag such as
    ``v2_regression``, or a type such as ``dict[str,str]``). They are not keys the user wrote,
    so they are used to pick the union member (a tag) or skipped, and left out of the path.

    Returns:
        The candidate classes of the value at ``loc`` (models and dataclasses; empty for a
        scalar) and the user-facing path, or None when ``loc`` cannot be followed.
    """
    owners: list[type] = [model]
    path: list[int | str] = []
    for part in loc:
        if isinstance(part, int):
            path.append(part)
            continue
        if "[" in part or part in _TYPE_LABELS:
            continue  # pydantic's label of a union member, not a key
        if not owners:
            path.append(part)  # a key of a free-form mapping (e.g. ``env``)
            continue
        owner = next((c for c in owners if part in _fields_of(c)), None)
        if owner is not None:
            path.append(part)
            owners = _classes_in(_fields_of(owner)[part])
            continue
        tagged = [c for c in owners if _is_tagged(c, part)]
        if not tagged:
            return None
        owners = tagged
    return owners, path


def _field_problem(owners: list[type], message: str, value: Any) -> tuple[str, Any] | None:
    """The field a dataclass-level check names first, and the value given for it.

    A component dataclass's ``__post_init__`` message starts with the field's name
    ("max_pool_size must be >= 1").
    """
    match = re.match(r"[A-Za-z_][A-Za-z0-9_]*", message)
    if match is None:
        return None
    name = match.group(0)
    for owner in owners:
        if dataclasses.is_dataclass(owner) and name in _fields_of(owner):
            return name, (value.get(name, value) if isinstance(value, dict) else value)
    return None


_TYPE_WORDS: tuple[tuple[str, str], ...] = (
    (r"a valid dictionary or instance of \w+", "a mapping (`key: value` lines)"),
    (r"a dictionary or an instance of \w+", "a mapping (`key: value` lines)"),
    (r"a valid dictionary", "a mapping (`key: value` lines)"),
    (r"a valid (?:tuple|list)", "a list (one `- item` line per entry)"),
)
"""pydantic's type words (``valid tuple``, ``instance of ModulesSection``) and what a YAML
user writes instead."""

_NUMERIC_ERRORS = frozenset({
    "int_parsing", "int_from_float", "int_type", "float_parsing", "float_type",
    "greater_than", "greater_than_equal", "less_than", "less_than_equal", "finite_number"})
"""Problems of a number's type or range, which the expected form and unit explain."""

_BOUND_ERRORS = frozenset({"greater_than", "greater_than_equal", "less_than", "less_than_equal"})

_DATACLASS_UNITS = {"cleanup_interval": "ms", "timeout": "ms", "reset_timeout": "ms",
                    "max_transaction_age": "s", "blacklist_duration": "s"}
"""Units of component-dataclass keys whose name does not say it (``*_ms``, ``*_s`` do): the
guide's keys keep the guide's unit (sim/scenario.py)."""


def _numeric_spec(model: type[BaseModel], loc: tuple[int | str, ...]) -> str | None:
    """What a numeric field takes: ``a whole number in 0-100 (percent of requests to V2)``.

    Read from the field's type, its bounds (``ge``/``gt``/``le``/``lt``) and its description
    (a unit such as ``ms``) or, for a component dataclass, its name; None when the location
    is no plain int or float field.
    """
    at = next((i for i in range(len(loc) - 1, -1, -1)
               if isinstance(loc[i], str) and not _union_label(loc[i])), None)
    if at is None:
        return None
    name = str(loc[at])
    walked = _walk(model, loc[:at])
    if walked is None:
        return None
    owner = next((c for c in walked[0] if name in _fields_of(c)), None)
    if owner is None:
        return None
    bounds: dict[str, Any] = {}
    base: list[type] = []
    description: list[str] = []

    def take(meta: Any) -> None:
        if isinstance(meta, FieldInfo):
            if meta.description:
                description.append(meta.description)
            for inner in meta.metadata:
                take(inner)
        for bound in ("ge", "gt", "le", "lt"):
            if type(meta).__name__.lower() == bound:
                bounds[bound] = getattr(meta, bound)

    def visit(annotation: Any) -> None:
        if typing.get_origin(annotation) is typing.Annotated:
            visit(typing.get_args(annotation)[0])
            for meta in annotation.__metadata__:
                take(meta)
        elif annotation in (int, float):
            base.append(annotation)
        elif typing.get_origin(annotation) is not None and annotation is not Any:
            for arg in typing.get_args(annotation):
                visit(arg)

    if issubclass(owner, BaseModel):
        info = owner.model_fields[name]
        take(info)
        visit(info.annotation)
    else:
        visit(_fields_of(owner)[name])
    if not base:
        return None
    unit = next((d for d in description if d in ("ms", "s")), None)
    if unit is None and not description:
        unit = ("ms" if name.endswith("_ms") else "s" if name.endswith("_s")
                else _DATACLASS_UNITS.get(name))
    what = "a whole number" if base[0] is int else "a number"
    if unit == "ms":
        what += " of milliseconds"
    elif unit == "s":
        what += " of seconds"
    low = ">= {ge}" if "ge" in bounds else "> {gt}" if "gt" in bounds else ""
    high = "<= {le}" if "le" in bounds else "< {lt}" if "lt" in bounds else ""
    if "ge" in bounds and "le" in bounds:
        what += " in {ge}-{le}"
    elif low or high:
        what += " " + " and ".join(x for x in (low, high) if x)
    what = what.format(**{k: f"{v:g}" if isinstance(v, float) else v
                          for k, v in bounds.items()})
    # A short description is a unit or a meaning ("percent of requests to V2"); a long one
    # is documentation, too long for a one-line error.
    notes = [d for d in description if d not in ("ms", "s") and len(d) <= 40]
    if unit == "ms":
        notes.append("this key is in ms, as in the guide: 30 s is 30000")
    if notes:
        what += f" ({'; '.join(notes)})"
    return what


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
    first, alternatives, others = _pick(problems)
    loc = tuple(first["loc"])
    unknown_key = first["type"] in ("extra_forbidden", "unexpected_keyword_argument")
    walked = _walk(model, loc[:-1] if unknown_key else loc) if model is not None else None
    owners: list[type]
    path: list[int | str]
    if walked is None:
        owners, path = [], list(loc)
    else:
        owners, path = walked
        if unknown_key:
            path.append(loc[-1])
    message = "; or ".join([str(first["msg"]), *alternatives])
    for pattern, words in _TYPE_WORDS:
        message = re.sub(pattern, words, message)
    shown_input: Any = first.get("input")
    if unknown_key:
        # ``unexpected_keyword_argument``: an unknown key inside a component dataclass.
        message = f"unknown key {loc[-1]!r}"
        allowed = sorted(_fields_of(owners[0])) if owners else []
        if allowed:
            message += f" (allowed: {', '.join(allowed)})"
    else:
        if first["type"] == "value_error":
            message = message.removeprefix("Value error, ")
            named = _field_problem(owners, message, shown_input)
            if named is not None:
                path.append(named[0])
                shown_input = named[1]
                # The value is shown once, below, even if the check already wrote it.
                message = re.sub(r"; got .*$", "", message)
        spec = (_numeric_spec(model, loc)
                if model is not None and first["type"] in _NUMERIC_ERRORS else None)
        if spec is not None and (first["type"] not in _BOUND_ERRORS or "(" in spec
                                 or "milliseconds" in spec or "seconds" in spec):
            # A bound error states its bound; the unit or meaning is what it lacks.
            message += f"; expected {spec}"
        # A whole-file check (empty location) names its fields itself: do not echo the file;
        # a problem that shows the bad value itself (VALUE_SHOWN) is not echoed either.
        if ("input" in first and first["type"] not in ("missing", VALUE_SHOWN) and loc):
            shown = repr(shown_input)
            if len(shown) > 60:
                shown = shown[:57] + "..."
            message += f" (got {shown})"
    if others > 0:
        message += f" [and {others} more problem(s)]"
    return ConfigError(source, ".".join(str(p) for p in path), message)


def _union_label(part: int | str) -> bool:
    return isinstance(part, str) and ("[" in part or part in _TYPE_LABELS)


def _union_at(loc: tuple[Any, ...]) -> int | None:
    """Where the first union-member label sits in a problem's location, if anywhere."""
    return next((i for i, part in enumerate(loc) if _union_label(part)), None)


def _problem_count(problems: list[Any]) -> int:
    """How many problems the user made: one union's members count as one value.

    The problems of a union's members the user did not mean (the ``'guide'`` member when a
    list of steps has a bad step) are not problems of theirs; when every member failed at
    the top, their messages are the allowed forms of one bad value.
    """
    unions: dict[tuple[Any, ...], list[Any]] = {}
    count = 0
    for p in problems:
        loc = tuple(p["loc"])
        at = _union_at(loc)
        if at is None:
            count += 1
        else:
            unions.setdefault(loc[:at], []).append(p)
    for prefix, members in unions.items():
        at = len(prefix)
        deepest = max(members, key=lambda p: len(p["loc"]))  # the first of equals
        if len(deepest["loc"]) > at + 1:
            count += sum(1 for p in members if p["loc"][at] == deepest["loc"][at])
        else:
            count += 1
    return count


def _pick(problems: list[Any]) -> tuple[Any, list[str], int]:
    """The problem to report, the value's other allowed forms, and how many problems remain.

    The remaining count is :func:`_problem_count` less the one reported.

    When a value fits none of a union's members (``schedule: guide`` or a list of steps),
    pydantic reports one problem per member, the first member's first. The member the
    input got furthest into is the one the user meant (a list of steps with a bad key is
    about that key, not about ``'guide'``): its deepest problem is reported. When every
    member failed at the top (a number where ``'guide'`` or a list belongs), the members'
    messages are all the allowed forms: they are returned to be named after the first.
    """
    others = _problem_count(problems) - 1
    first = problems[0]
    loc = tuple(first["loc"])
    at = _union_at(loc)
    if at is None:
        return first, [], others
    members = [p for p in problems if tuple(p["loc"])[:at] == loc[:at]
               and len(p["loc"]) > at and _union_label(p["loc"][at])]
    deepest = max(members, key=lambda p: len(p["loc"]))  # the first of equals
    if len(deepest["loc"]) > at + 1:
        return deepest, [], others
    alternatives: list[str] = []
    for p in members:
        if p is not first and str(p["msg"]) not in alternatives and p["msg"] != first["msg"]:
            alternatives.append(str(p["msg"]))
    return first, alternatives, others
