"""Users and invites: one-time, expiring deep-link tokens bound to a role."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from domain.errors import AlreadyRegistered, InvalidInput, InviteInvalid, NotFound
from domain.model import Actor, Invite, Role, User
from domain.ports import UnitOfWork
from domain.services.common import (
    MAX_NAME_CHARS,
    audit,
    clean_text,
    get_customer,
    require_role,
    use_case,
)

TOKEN_BYTES = 24  # 192 random bits -> 32 URL-safe characters, well within Telegram's 64
TOKEN_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
MAX_TOKEN_CHARS = 64


def token_hash(token: str) -> str:
    """Only the hash is stored, so a copy of the database cannot be used to join."""
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_token(token: str) -> bool:
    return 0 < len(token) <= MAX_TOKEN_CHARS and set(token) <= TOKEN_ALPHABET


@dataclass(frozen=True, slots=True)
class IssuedInvite:
    token: str
    invite: Invite


@use_case
def create_invite(
    uow: UnitOfWork, *, actor: Actor, role: Role, customer_id: int | None = None, name: str = ""
) -> IssuedInvite:
    """A single-use invite for ``role`` (customers: bound to one customer)."""
    require_role(actor, (Role.OWNER,), "invite")
    role = Role(role)
    if role is Role.CUSTOMER:
        if customer_id is None:
            raise InvalidInput("customer", "required_for_customer_invite")
        get_customer(uow, customer_id)
    elif customer_id is not None:
        raise InvalidInput("customer", "only_for_customer_invite", str(customer_id))
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = uow.clock.now()
    invite_id = uow.invites.add(
        token_hash=token_hash(token),
        role=role,
        customer_id=customer_id,
        name=clean_text(name, "name", limit=MAX_NAME_CHARS),
        created_by=actor.user_id,
        created_at=now,
        expires_at=now + timedelta(days=uow.policy.invite_ttl_days),
    )
    audit(
        uow,
        actor,
        "invite.create",
        "invite",
        invite_id,
        after={"role": role, "customer_id": customer_id},
    )
    invite = uow.invites.by_token_hash(token_hash(token))
    assert invite is not None
    return IssuedInvite(token=token, invite=invite)


@use_case
def accept_invite(
    uow: UnitOfWork,
    *,
    token: str,
    telegram_user_id: int,
    display_name: str,
    language: str | None = None,
    source: str = "",
) -> User:
    """Bind a Telegram user to the invite's role, once; unknown/expired/used tokens refuse."""
    existing = uow.users.by_telegram_id(telegram_user_id)
    if existing is not None and existing.active:
        raise AlreadyRegistered(existing.id)
    if not looks_like_token(token):
        raise InviteInvalid("unknown")
    invite = uow.invites.by_token_hash(token_hash(token))
    if invite is None:
        raise InviteInvalid("unknown")
    now = uow.clock.now()
    if invite.used_at is not None:
        raise InviteInvalid("used")
    if invite.expires_at <= now:
        raise InviteInvalid("expired")
    name = clean_text(invite.name or display_name or "", "name", limit=MAX_NAME_CHARS) or str(
        telegram_user_id
    )
    if existing is not None:
        # A revoked user invited again: reactivate with the new role.
        user_id = existing.id
        uow.users.set_active(user_id, True)
        uow.users.update_role(user_id, invite.role, invite.customer_id)
    else:
        user_id = uow.users.add(
            name=name,
            role=invite.role,
            telegram_user_id=telegram_user_id,
            customer_id=invite.customer_id,
            language=language,
            created_at=now,
        )
    if not uow.invites.try_mark_used(invite.id, user_id, now):
        raise InviteInvalid("used")
    actor = Actor(user_id=user_id, role=invite.role, source=source or "invite", name=name)
    audit(
        uow,
        actor,
        "user.join",
        "user",
        user_id,
        after={"role": invite.role, "invite_id": invite.id},
    )
    user = uow.users.get(user_id)
    assert user is not None
    return user


@use_case
def add_user(
    uow: UnitOfWork,
    *,
    actor: Actor,
    name: str,
    role: Role,
    telegram_user_id: int | None = None,
    customer_id: int | None = None,
) -> User:
    """Create a user directly (CLI, demo data, tests)."""
    require_role(actor, (Role.OWNER,), "add_user")
    user_id = uow.users.add(
        name=clean_text(name, "name", required=True, limit=MAX_NAME_CHARS),
        role=Role(role),
        telegram_user_id=telegram_user_id,
        customer_id=customer_id,
        language=None,
        created_at=uow.clock.now(),
    )
    audit(uow, actor, "user.create", "user", user_id, after={"role": role, "name": name})
    user = uow.users.get(user_id)
    assert user is not None
    return user


@use_case
def revoke_user(uow: UnitOfWork, *, actor: Actor, user_id: int) -> User:
    require_role(actor, (Role.OWNER,), "revoke_user")
    user = uow.users.get(user_id)
    if user is None:
        raise NotFound("user", user_id)
    if user.id == actor.user_id:
        raise InvalidInput("user", "cannot_revoke_self", str(user_id))
    uow.users.set_active(user_id, False)
    audit(
        uow,
        actor,
        "user.revoke",
        "user",
        user_id,
        before={"active": user.active},
        after={"active": False},
    )
    revoked = uow.users.get(user_id)
    assert revoked is not None
    return revoked


def user_name(uow: UnitOfWork, user_id: int | None) -> str:
    """Display name for messages like "shipped by Wang"."""
    if user_id is None:
        return "system"
    user = uow.users.get(user_id)
    return user.name if user else f"#{user_id}"


def people_to_tell(
    uow: UnitOfWork, user_ids: Iterable[int | None], *, leave_out: int | None = None
) -> list[User]:
    """These users, each once and in order, who are staff the bot can write to — except
    ``leave_out`` (whoever just acted is not told what they did)."""
    found: list[User] = []
    for user_id in dict.fromkeys(user_ids):
        if user_id is None or user_id == leave_out:
            continue
        user = uow.users.get(user_id)
        if (
            user is None
            or not user.active
            or user.role is Role.CUSTOMER
            or user.telegram_user_id is None
            or user.blocked_bot
        ):
            continue
        found.append(user)
    return found
