"""Method parameters as Telegram reads them, whatever the encoding.

A Bot API call may arrive as a JSON body (typed values), a query string or a form (every value
a string; objects JSON-encoded), or multipart/form-data (the same plus file parts). PTB sends
forms, aiogram sends forms or multipart, hand-written clients often send JSON; all work.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.emulator.errors import ApiError, bad_request


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request."""

    data: bytes
    filename: str | None = None
    content_type: str | None = None

    def describe(self) -> str:
        return f"<upload {self.filename or 'unnamed'} {len(self.data)} bytes>"


class Params:
    """Typed access to one call's parameters, with Telegram's error wording."""

    def __init__(
        self, values: Mapping[str, Any], uploads: Mapping[str, Upload] | None = None
    ) -> None:
        self.values = dict(values)
        self.uploads = dict(uploads or {})

    def __contains__(self, name: str) -> bool:
        return name in self.values or name in self.uploads

    def raw(self, name: str) -> Any:
        return self.values.get(name)

    def string(self, name: str, *, required: bool = False) -> str | None:
        value = self.values.get(name)
        if value is None:
            if required:
                raise bad_request(f"{name} is empty")
            return None
        if isinstance(value, (dict, list)):
            return json.dumps(value, ensure_ascii=False)
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def integer(self, name: str, *, required: bool = False) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                raise bad_request(f"{name} is empty")
            return None
        if isinstance(value, bool):
            raise bad_request(f'field "{name}" must be of type Integer')
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        try:
            return int(str(value).strip())
        except ValueError:
            raise bad_request(f'field "{name}" must be of type Integer') from None

    def number(self, name: str) -> float | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f'field "{name}" must be of type Number') from None

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)):
            return bool(value)
        return str(value).strip().lower() in ("true", "1", "yes", "on")

    def json_value(self, name: str, *, error: str | None = None) -> Any:
        """An object parameter: parsed when it came JSON-encoded inside a form."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise ApiError(
                    400, error or f"Bad Request: can't parse {name} JSON object"
                ) from None
        return value

    def chat_id(self, name: str = "chat_id", *, required: bool = True) -> int | str | None:
        """An integer id or an ``@username``."""
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                raise bad_request(f"{name} is empty")
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        text = str(value).strip()
        if text.startswith("@"):
            return text
        try:
            return int(text)
        except ValueError:
            raise bad_request("chat not found") from None

    def file(self, name: str) -> Upload | str | None:
        """A file parameter: an upload (direct or ``attach://name``), a file_id or a URL."""
        if name in self.uploads:
            return self.uploads[name]
        value = self.values.get(name)
        if value is None or value == "":
            return None
        text = str(value)
        if text.startswith("attach://"):
            upload = self.uploads.get(text[len("attach://") :])
            if upload is None:
                raise bad_request(f"{name} is empty")  # Telegram's wording for a dangling attach
            return upload
        return text

    def loggable(self) -> dict[str, Any]:
        """The parameters with uploads replaced by short descriptions (for ``emu.calls``)."""
        result: dict[str, Any] = {}
        for key, value in self.values.items():
            if isinstance(value, str) and value.startswith("attach://"):
                upload = self.uploads.get(value[len("attach://") :])
                result[key] = upload.describe() if upload else value
            else:
                result[key] = value
        for key, upload in self.uploads.items():
            if key not in result and not any(v == f"attach://{key}" for v in self.values.values()):
                result[key] = upload.describe()
        return result
