"""Renderers: render parts (notifications/parts.py) turned into text or photo parts at send
time, in the recipient's language, from the database as it is then.

Each renderer is registered under a name with :func:`renderer`; modules in
notifications/messages register theirs when imported (``load_all``). A renderer returns no
parts when there is nothing left to say (the order was shipped before its card went out): the
message is then skipped, not sent.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

from domain.ports import UnitOfWork
from handlers.context import EngineSettings, Voice
from notifications.parts import Part, RenderPart

Renderer = Callable[[Voice, dict[str, Any]], list[Part]]

RENDERERS: dict[str, Renderer] = {}


def renderer(name: str) -> Callable[[Renderer], Renderer]:
    def register(fn: Renderer) -> Renderer:
        if name in RENDERERS and RENDERERS[name] is not fn:
            raise RuntimeError(f"two renderers are named {name!r}")
        RENDERERS[name] = fn
        return fn

    return register


def load_all() -> dict[str, Renderer]:
    """Import every module of notifications/messages (each registers its renderers)."""
    from notifications import messages

    for info in sorted(pkgutil.iter_modules(messages.__path__), key=lambda m: m.name):
        importlib.import_module(f"{messages.__name__}.{info.name}")
    return RENDERERS


class UnknownRenderer(LookupError):
    pass


def render(uow: UnitOfWork, settings: EngineSettings, part: RenderPart) -> list[Part]:
    """The static parts ``part`` stands for now (never render parts again)."""
    load_all()
    fn = RENDERERS.get(part.what)
    if fn is None:
        raise UnknownRenderer(part.what)
    produced = fn(Voice.of(uow, settings, part.language), part.args)
    if any(isinstance(p, RenderPart) for p in produced):
        raise ValueError(f"renderer {part.what!r} returned a render part")
    return produced
