"""Each framework's gateway on its own: our keyboards become its markup, and its exceptions
become delivery's framework-neutral errors (the e2e tests show both over HTTP)."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram import exceptions as ag
from aiogram.methods import SendMessage
from telegram import error as tg

from bot.aiogram import gateway as aiogram_gateway
from bot.json_calls import JsonCalls, reply_markup
from bot.ptb import gateway as ptb_gateway
from handlers.replies import (
    Button,
    ForceReply,
    InlineKeyboard,
    RemoveKeyboard,
    ReplyKeyboard,
)
from notifications import delivery as nd

# PTB warns when it builds RetryAfter (its retry_after type changes in v23); not ours to fix.
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning"
)

INLINE = InlineKeyboard.of([Button("A", "c:1:a"), Button("B", "c:1:b")])
KEYS = ReplyKeyboard((("Skip",),), contact="📱 Share contact")


def test_keyboards_become_ptb_markup() -> None:
    """The JSON the PTB gateway sends parses as the Bot API's (PTB's) markup types."""
    from telegram import ForceReply as PtbForceReply
    from telegram import InlineKeyboardMarkup, ReplyKeyboardRemove

    markup = reply_markup
    inline = InlineKeyboardMarkup.de_json(markup(INLINE), None)
    assert [[(b.text, b.callback_data) for b in row] for row in inline.inline_keyboard] == [
        [("A", "c:1:a"), ("B", "c:1:b")]
    ]
    assert markup(KEYS) == {
        "keyboard": [[{"text": "Skip"}], [{"text": "📱 Share contact", "request_contact": True}]],
        "resize_keyboard": True,
        "one_time_keyboard": True,
    }
    assert ReplyKeyboardRemove.de_json(markup(RemoveKeyboard()), None).remove_keyboard
    forced = PtbForceReply.de_json(markup(ForceReply("Quantity")), None)
    assert forced.force_reply and forced.input_field_placeholder == "Quantity"
    assert markup(ForceReply("")) == {"force_reply": True}
    assert markup(None) is None


def test_the_shared_markup_parses_as_aiogram_markup() -> None:
    """Both gateways send the same reply_markup JSON; aiogram's own types accept it."""
    from aiogram.types import ForceReply as AiogramForceReply
    from aiogram.types import InlineKeyboardMarkup, ReplyKeyboardMarkup, ReplyKeyboardRemove

    # one implementation of the per-update calls for both
    assert issubclass(aiogram_gateway.AiogramGateway, JsonCalls)
    assert issubclass(ptb_gateway.PtbGateway, JsonCalls)
    parsed = {
        InlineKeyboardMarkup: INLINE,
        ReplyKeyboardMarkup: KEYS,
        ReplyKeyboardRemove: RemoveKeyboard(),
        AiogramForceReply: ForceReply("Quantity"),
    }
    for kind, keyboard in parsed.items():
        wire = reply_markup(keyboard)
        assert kind.model_validate(wire).model_dump(exclude_none=True) == wire


# (HTTP status, Bot API answer, the neutral error) for answers the raw aiogram calls get
ANSWERS = [
    (403, {"ok": False, "description": "Forbidden: bot was blocked by the user"}, "Blocked"),
    (400, {"ok": False, "description": "Bad Request: message is not modified"}, "NotModified"),
    (400, {"ok": False, "description": "Bad Request: message to edit not found"}, "MessageGone"),
    (400, {"ok": False, "description": "Bad Request: query is too old"}, "QueryExpired"),
    (400, {"ok": False, "description": "Bad Request: can't parse entities"}, "BadRequest"),
    (429, {"ok": False, "description": "Too Many Requests: retry after 7",
           "parameters": {"retry_after": 7}}, "RetryAfter"),
    (400, {"ok": False, "description": "Bad Request: group chat was upgraded",
           "parameters": {"migrate_to_chat_id": -1001234}}, "ChatMigrated"),
    (502, {}, "Unavailable"),
    (404, {"ok": False, "description": "Not Found"}, "DeliveryError"),
]  # fmt: skip


@pytest.mark.parametrize(("status", "answer", "expected"), ANSWERS)
def test_raw_aiogram_answers_become_neutral_errors(
    status: int, answer: dict[str, Any], expected: str
) -> None:
    neutral = aiogram_gateway.refusal(status, answer)
    assert type(neutral) is getattr(nd, expected)
    if isinstance(neutral, nd.RetryAfter):
        assert neutral.seconds == 7
    if isinstance(neutral, nd.ChatMigrated):
        assert neutral.new_chat_id == -1001234


def test_menu_scopes_for_aiogram() -> None:
    assert aiogram_gateway.scope_of("chat", 21).model_dump() == {"type": "chat", "chat_id": 21}
    assert aiogram_gateway.scope_of("all_group_chats", None).type == "all_group_chats"
    assert aiogram_gateway.scope_of("all_private_chats", None).type == "all_private_chats"
    assert aiogram_gateway.scope_of("default", None).type == "default"
    with pytest.raises(ValueError, match="chat_id"):
        aiogram_gateway.scope_of("chat", None)


# (Telegram's description, the neutral error) for each kind of failure
CASES = [
    ("Forbidden: bot was blocked by the user", "Blocked"),
    ("Bad Request: message is not modified: specified new message content", "NotModified"),
    ("Bad Request: message to edit not found", "MessageGone"),
    ("Bad Request: message can't be edited", "MessageGone"),
    ("Bad Request: query is too old and response timeout expired or query id is invalid",
     "QueryExpired"),
    ("Bad Request: can't parse entities: unmatched end tag", "BadRequest"),
    ("Too Many Requests: retry after 7", "RetryAfter"),
    ("Bad Request: group chat was upgraded to a supergroup chat", "ChatMigrated"),
    ("Timed out", "Unavailable"),
]  # fmt: skip


def ptb_error(description: str, expected: str) -> tg.TelegramError:
    if expected == "RetryAfter":
        return tg.RetryAfter(7)
    if expected == "ChatMigrated":
        return tg.ChatMigrated(-1001234)
    if expected == "Blocked":
        return tg.Forbidden(description)
    if expected == "Unavailable":
        return tg.TimedOut()
    return tg.BadRequest(description)


def aiogram_error(description: str, expected: str) -> ag.TelegramAPIError:
    method: Any = SendMessage(chat_id=12, text="x")
    if expected == "RetryAfter":
        return ag.TelegramRetryAfter(method, description, retry_after=7)
    if expected == "ChatMigrated":
        return ag.TelegramMigrateToChat(method, description, migrate_to_chat_id=-1001234)
    if expected == "Blocked":
        return ag.TelegramForbiddenError(method, description)
    if expected == "Unavailable":
        return ag.TelegramNetworkError(method, "Request timeout error")
    return ag.TelegramBadRequest(method, description)


@pytest.mark.parametrize(("description", "expected"), CASES)
@pytest.mark.parametrize("framework", ["ptb", "aiogram"])
def test_errors_become_neutral_errors(framework: str, description: str, expected: str) -> None:
    if framework == "ptb":
        neutral = ptb_gateway.translate(ptb_error(description, expected))
    else:
        neutral = aiogram_gateway.translate(aiogram_error(description, expected))
    assert type(neutral) is getattr(nd, expected)
    if isinstance(neutral, nd.RetryAfter):
        assert neutral.seconds == 7
    if isinstance(neutral, nd.ChatMigrated):
        assert neutral.new_chat_id == -1001234


def test_aiogram_error_texts_are_redacted() -> None:
    token = "5012345678:AAHk3r7PqL2mN8sT4vX9zB1cD6eF0gJ5hW2"
    error = ag.TelegramNetworkError(
        SendMessage(chat_id=12, text="x"), f"ClientError: https://api/bot{token}/sendMessage"
    )
    neutral = aiogram_gateway.translate(error)
    assert isinstance(neutral, nd.Unavailable)
    assert token not in neutral.description and "sendMessage" in neutral.description
    other = aiogram_gateway.translate(ag.TelegramServerError(SendMessage(chat_id=1, text="x"), "x"))
    assert isinstance(other, nd.Unavailable)
    assert (
        type(aiogram_gateway.translate(ag.TelegramNotFound(SendMessage(chat_id=1, text="x"), "x")))
        is nd.DeliveryError
    )


def test_aiogram_answer_models_are_not_rebuilt_after_a_garbage_collection() -> None:
    """aiogram parses each answer as pydantic's Response[...]; pydantic caches those weakly,
    so one nobody holds is freed by a collection and rebuilt on the event loop."""
    import gc
    import weakref

    from aiogram.methods import GetUpdates
    from aiogram.methods.base import Response

    import bot.aiogram.app  # noqa: F401  (holds the models the bot's calls parse)

    model = weakref.ref(Response[GetUpdates.__returning__])
    gc.collect()
    assert model() is not None
