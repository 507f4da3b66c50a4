"""What a wrapper kind is: a module with a plan (which graphs of a recipe it wraps, and its
options) and a generator (the Swift source), registered in ``wrappers/__init__.py``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class WrapperPlan:
    graphs: dict[str, str]  # role ("image", "text", "model") → graph name in the recipe
    options: Any  # the kind's Options dataclass


@dataclass(frozen=True)
class WrapperKind:
    name: str  # the recipe's ios.wrapper value
    roles: tuple[str, ...]  # the models the wrapper loads
    options: type  # its Options dataclass
    plan: Callable[[Any], WrapperPlan]  # recipe → graphs and options
    generate: Callable[[Any], str]  # WrapperRequest → Swift source
    app_files: tuple[str, ...] = ()  # files the wrapper reads from the bundle (written by app_files)
    app_protocol: str | None = None  # ModelKit protocol the app uses it through (None: no demo screen)
