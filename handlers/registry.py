"""Every flow and card action, found in handlers/flows (each module exports FLOW and/or ACTIONS)."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Sequence

from domain.ports import UnitOfWorkFactory
from handlers import flows as flows_package
from handlers.context import EngineSettings
from handlers.engine import ConversationEngine
from handlers.flow import CardAction, Flow


def discover() -> tuple[list[Flow], list[CardAction]]:
    """Flows and card actions of every module in handlers/flows, in module-name order."""
    found_flows: list[Flow] = []
    found_actions: list[CardAction] = []
    for module_info in sorted(pkgutil.iter_modules(flows_package.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{flows_package.__name__}.{module_info.name}")
        flow = getattr(module, "FLOW", None)
        if flow is not None:
            found_flows.append(flow)
        found_actions.extend(getattr(module, "ACTIONS", ()))
    _check_unique([f.name for f in found_flows], "flow name")
    _check_unique([f.command for f in found_flows if f.command], "command")
    _check_unique([a.prefix for a in found_actions], "card action prefix")
    return found_flows, found_actions


def _check_unique(names: Sequence[str | None], what: str) -> None:
    seen: set[str | None] = set()
    for name in names:
        if name in seen:
            raise RuntimeError(f"two modules in handlers/flows use the same {what}: {name}")
        seen.add(name)


def build_engine(uow_factory: UnitOfWorkFactory, settings: EngineSettings) -> ConversationEngine:
    flows, actions = discover()
    return ConversationEngine(uow_factory, flows, actions, settings)
