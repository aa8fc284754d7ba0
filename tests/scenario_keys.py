"""Every key a scenario file can set, walked from the schema (for tests/test_scenario_doc.py).

Pydantic sections and the component dataclasses inside them (``pool.v2``, ``sync.v2``,
``breakers``' ``BreakerConfig`` settings, ``sync.v2.scoring``) are walked; a list of models
(``workload``, ``faults``, ``rollout.schedule``) contributes its items' keys under ``[]``, and
a union member's keys (a fault kind, a rate profile) are all listed under the same path.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Union

from pydantic import BaseModel

from sim.scenario import Scenario


def _members(annotation: Any) -> list[Any]:
    """The classes an annotation can hold (Annotated, Optional, unions, tuples unwrapped)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _members(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return [m for a in typing.get_args(annotation) for m in _members(a)]
    if origin is tuple:
        return [("[]", m) for a in typing.get_args(annotation) if a is not Ellipsis
                for m in _members(a)]
    if isinstance(annotation, type) and (issubclass(annotation, BaseModel)
                                         or dataclasses.is_dataclass(annotation)):
        return [annotation]
    return []


def _fields(cls: type) -> dict[str, Any]:
    if issubclass(cls, BaseModel):
        return {name: f.annotation for name, f in cls.model_fields.items()}
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def scenario_keys(cls: type = Scenario, prefix: str = "") -> set[str]:
    """Dotted paths of every settable key (sections included), e.g. ``pool.v2.min_gas_price``."""
    keys: set[str] = set()
    for name, annotation in _fields(cls).items():
        path = f"{prefix}{name}"
        keys.add(path)
        for member in _members(annotation):
            if isinstance(member, tuple):
                keys |= scenario_keys(member[1], f"{path}[].")
            else:
                keys |= scenario_keys(member, f"{path}.")
    return keys
