"""Bot API errors, worded exactly as Telegram words them.

Every failing method raises :class:`ApiError`; the HTTP layer turns it into
``{"ok": false, "error_code": N, "description": "...", "parameters": {...}}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# 400 Bad Request ------------------------------------------------------------------------------
TEXT_EMPTY = "Bad Request: message text is empty"
TEXT_TOO_LONG = "Bad Request: message is too long"
CAPTION_TOO_LONG = "Bad Request: message caption is too long"
BUTTON_DATA_INVALID = "Bad Request: BUTTON_DATA_INVALID"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
EDIT_NOT_FOUND = "Bad Request: message to edit not found"
DELETE_NOT_FOUND = "Bad Request: message to delete not found"
CANT_BE_EDITED = "Bad Request: message can't be edited"
CANT_BE_DELETED = "Bad Request: message can't be deleted"
NO_TEXT_TO_EDIT = "Bad Request: there is no text in the message to edit"
NO_CAPTION_TO_EDIT = "Bad Request: there is no caption in the message to edit"
REPLY_NOT_FOUND = "Bad Request: message to be replied not found"
CHAT_NOT_FOUND = "Bad Request: chat not found"
GROUP_UPGRADED = "Bad Request: group chat was upgraded to a supergroup chat"
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
WRONG_FILE_ID = "Bad Request: wrong file identifier/HTTP URL specified"
FILE_UNAVAILABLE = "Bad Request: wrong file_id or the file is temporarily unavailable"
FILE_TOO_BIG = "Bad Request: file is too big"
IMAGE_PROCESS_FAILED = "Bad Request: IMAGE_PROCESS_FAILED"
PHOTO_INVALID_DIMENSIONS = "Bad Request: PHOTO_INVALID_DIMENSIONS"
URL_CONTENT_FAILED = "Bad Request: failed to get HTTP URL content"
CANT_PARSE_ENTITIES = "Bad Request: can't parse entities: "
CANT_PARSE_MARKUP = "Bad Request: can't parse reply keyboard markup JSON object"
CANT_PARSE_BUTTON = "Bad Request: can't parse inline keyboard button: "
WRONG_ACTION = "Bad Request: wrong parameter action in request"
COMMAND_INVALID = "Bad Request: BOT_COMMAND_INVALID"
COMMAND_DESCRIPTION_INVALID = "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID"
COMMANDS_TOO_MUCH = "Bad Request: BOTS_TOO_MUCH"
SCOPE_INVALID = "Bad Request: unsupported bot command scope type"
SECRET_TOKEN_INVALID = "Bad Request: secret token contains unallowed characters"
WEBHOOK_URL_INVALID = "Bad Request: bad webhook: Failed to resolve host: Name or service not known"
INLINE_MESSAGE_UNSUPPORTED = "Bad Request: MESSAGE_ID_INVALID"
ANSWER_TEXT_TOO_LONG = "Bad Request: MESSAGE_TOO_LONG"

# 401 / 403 / 404 / 409 / 413 / 429 ------------------------------------------------------------
UNAUTHORIZED = "Unauthorized"
BLOCKED = "Forbidden: bot was blocked by the user"
CANT_INITIATE = "Forbidden: bot can't initiate conversation with a user"
KICKED_GROUP = "Forbidden: bot was kicked from the group chat"
KICKED_SUPERGROUP = "Forbidden: bot was kicked from the supergroup chat"
NOT_FOUND = "Not Found"
CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
CONFLICT_OTHER_POLL = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
TOO_LARGE = "Request Entity Too Large"


@dataclass
class ApiError(Exception):
    """A Bot API error response. ``parameters`` becomes ResponseParameters when given."""

    error_code: int
    description: str
    parameters: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(f"{self.error_code} {self.description}")

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = dict(self.parameters)
        return body


def bad_request(description: str) -> ApiError:
    """A 400 error; ``description`` may omit the ``Bad Request: `` prefix."""
    if not description.startswith("Bad Request: "):
        description = "Bad Request: " + description
    return ApiError(400, description)


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(
        429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
    )


def group_upgraded(new_chat_id: int) -> ApiError:
    return ApiError(400, GROUP_UPGRADED, {"migrate_to_chat_id": new_chat_id})
