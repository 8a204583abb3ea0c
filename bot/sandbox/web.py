"""The page and its API: static files, JSON to read and act in chats, and a live event stream.

| route | what |
|---|---|
| ``GET /`` and ``/static/…`` | the page (plain HTML, CSS and JS; nothing loaded from elsewhere) |
| ``GET /api/sandbox`` | the bot, the personas with the chats each can open, the jobs |
| ``POST /api/personas`` | a newcomer (someone with an invite link and no access yet) |
| ``GET /api/chats/{chat}/messages?persona=ID`` | messages, reply keyboard, command menu |
| ``POST /api/chats/{chat}/messages`` | ``{persona, text}``: type a message or command |
| ``POST /api/chats/{chat}/press`` | ``{persona, message_id, data}``: press an inline button |
| ``POST /api/chats/{chat}/contact`` | ``{persona}``: share one's own contact |
| ``POST /api/chats/{chat}/documents`` | multipart ``persona``, ``file``: send a document |
| ``GET /api/files/{file_id}`` | a photo (inline) or document (download) the chat holds |
| ``GET /api/events`` | server-sent events: messages, edits, toasts, "typing", people changed |
| ``POST /api/jobs/{name}`` | run a scheduled job now |

Every person may be acted as (that is the sandbox's point), but only in chats they belong to.
Requests that change something must come from the page itself: JSON (or multipart) bodies and,
when the browser says where it comes from, the same origin, so another web site open in the
same browser cannot drive the sandbox.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

from aiohttp import web

from bot.emulator import EmulatorError
from bot.emulator.state import JSON
from bot.sandbox.views import message_view, reply_keyboard_view

if TYPE_CHECKING:
    from bot.sandbox.cast import Persona
    from bot.sandbox.server import Sandbox

logger = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
HEARTBEAT_SECONDS = 15.0
MAX_TEXT_CHARS = 4096  # Telegram splits longer messages; so does the page's server
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
SANDBOX_KEY = web.AppKey("sandbox", object)
# Nothing but the page's own files: no fonts, scripts or images from anywhere else.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


class ApiProblem(Exception):
    """An API request that cannot be done; ``message`` is shown on the page."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def add_page_routes(app: web.Application, sandbox: Sandbox) -> None:
    app[SANDBOX_KEY] = sandbox
    app.middlewares.append(_page_middleware)
    app.router.add_get("/", _index)
    app.router.add_static("/static/", STATIC, show_index=False, follow_symlinks=False)
    app.router.add_get("/api/sandbox", _overview)
    app.router.add_post("/api/personas", _new_persona)
    app.router.add_get("/api/chats/{chat}/messages", _read_chat)
    app.router.add_post("/api/chats/{chat}/messages", _send_text)
    app.router.add_post("/api/chats/{chat}/press", _press)
    app.router.add_post("/api/chats/{chat}/contact", _share_contact)
    app.router.add_post("/api/chats/{chat}/documents", _send_document)
    app.router.add_get("/api/files/{file_id}", _file)
    app.router.add_get("/api/events", _events)
    app.router.add_post("/api/jobs/{name}", _run_job)


def _sandbox(request: web.Request) -> Sandbox:
    return request.app[SANDBOX_KEY]  # type: ignore[return-value]


def _is_page_route(path: str) -> bool:
    return path == "/" or path.startswith(("/api/", "/static/"))


@web.middleware
async def _page_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Security headers, same-origin writes, and problems answered as JSON."""
    if not _is_page_route(request.path):
        return await handler(request)  # the Bot API answers for itself
    try:
        if request.method == "POST":
            _check_origin(request)
        response = await handler(request)
    except ApiProblem as problem:
        response = web.json_response({"error": problem.message}, status=problem.status)
    except EmulatorError as error:  # something a real user could not do either
        response = web.json_response({"error": str(error)}, status=400)
    if not response.prepared:
        response.headers.update(SECURITY_HEADERS)
    return response


def _check_origin(request: web.Request) -> None:
    origin = request.headers.get("Origin")
    if origin is not None and urlsplit(origin).netloc != request.host:
        raise ApiProblem(403, "Requests must come from the sandbox page itself.")
    if request.content_type not in ("application/json", "multipart/form-data"):
        raise ApiProblem(415, "Send JSON.")


# --- page -----------------------------------------------------------------------------------


async def _index(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


async def _overview(request: web.Request) -> web.Response:
    sandbox = _sandbox(request)
    return web.json_response(
        {
            "bot": {"name": sandbox.account.user.first_name, "username": sandbox.account.username},
            "personas": [
                {**p.to_json(), "chats": sandbox.chats_of(p)} for p in sandbox.all_personas()
            ],
            "jobs": [
                {"name": job.name, "label": job.label, "description": job.description}
                for job in sandbox.jobs.jobs()
            ],
        }
    )


async def _new_persona(request: web.Request) -> web.Response:
    sandbox = _sandbox(request)
    person = sandbox.add_newcomer()
    return web.json_response({**person.to_json(), "chats": sandbox.chats_of(person)})


# --- chats ----------------------------------------------------------------------------------


async def _read_chat(request: web.Request) -> web.Response:
    sandbox = _sandbox(request)
    person = _persona(sandbox, request.query.get("persona"))
    chat_id = _chat_for(sandbox, person, request.match_info["chat"])
    emulator = sandbox.emulator
    records = [r for r in emulator.records(chat_id) if not r.deleted]
    return web.json_response(
        {
            "chat_id": chat_id,
            "messages": [message_view(r) for r in records],
            "reply_keyboard": reply_keyboard_view(emulator.reply_keyboard(chat_id)),
            "commands": emulator.commands_for(person.telegram_id, chat_id),
        }
    )


async def _send_text(request: web.Request) -> web.Response:
    sandbox = _sandbox(request)
    body = await _json(request)
    person = _persona(sandbox, body.get("persona"))
    chat_id = _chat_for(sandbox, person, request.match_info["chat"])
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ApiProblem(400, "Type a message first.")
    sent = []
    for start in range(0, len(text), MAX_TEXT_CHARS):  # as Telegram's apps split long texts
        chunk = text[start : start + MAX_TEXT_CHARS]
        message = await sandbox.emulator.send_text(
            person.telegram_id, chunk, _where(person, chat_id)
        )
        sent.append(message["message_id"])
    return web.json_response({"sent": sent})


async def _press(request: web.Request) -> web.Response:
    sandbox = _sandbox(request)
    body = await _json(request)
    person = _persona(sandbox, body.get("persona"))
    chat_id = _chat_for(sandbox, person, request.match_info["chat"])
    message_id, data = body.get("message_id"), body.get("data")
    if not isinstance(message_id, int) or not isinstance(data, str):
        raise ApiProblem(400, "Say which button: message_id and data.")
    query_id = await sandbox.emulator.press(
        person.telegram_id, message_id, data, _where(person, chat_id)
    )
    return web.json_response({"callback_query_id": query_id})


async def _share_contact(request: web.Request) -> web.Response:
    sandbox = _sandbox(request)
    body = await _json(request)
    person = _persona(sandbox, body.get("persona"))
    chat_id = _chat_for(sandbox, person, request.match_info["chat"])
    message = await sandbox.emulator.share_contact(
        person.telegram_id, person.phone, chat=_where(person, chat_id)
    )
    return web.json_response({"sent": [message["message_id"]]})


async def _send_document(request: web.Request) -> web.Response:
    sandbox = _sandbox(request)
    if request.content_type != "multipart/form-data":
        raise ApiProblem(415, "Upload the file as multipart/form-data.")
    form = await request.post()
    person = _persona(sandbox, form.get("persona"))
    chat_id = _chat_for(sandbox, person, request.match_info["chat"])
    upload = form.get("file")
    if not isinstance(upload, web.FileField):
        raise ApiProblem(400, "Choose a file to send.")
    data = upload.file.read(MAX_DOCUMENT_BYTES + 1)
    if not data:
        raise ApiProblem(400, "The file is empty.")
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ApiProblem(413, "Files up to 20 MB can be sent here.")
    caption = form.get("caption")
    message = await sandbox.emulator.send_document(
        person.telegram_id,
        # Browsers and aiohttp percent-encode odd characters (quotes; aiohttp: all non-ASCII).
        unquote(upload.filename or "") or "file",
        data,
        upload.content_type,
        caption=caption if isinstance(caption, str) and caption else None,
        chat=_where(person, chat_id),
    )
    return web.json_response({"sent": [message["message_id"]]})


async def _file(request: web.Request) -> web.Response:
    stored = _sandbox(request).emulator.state.files.get(request.match_info["file_id"])
    if stored is None:
        raise ApiProblem(404, "No such file.")
    headers = {"Cache-Control": "private, max-age=3600"}
    if stored.kind == "photo":
        mime = "image/png" if stored.data.startswith(b"\x89PNG") else "image/jpeg"
        return web.Response(body=stored.data, content_type=mime, headers=headers)
    name = stored.file_name or "file"
    headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return web.Response(
        body=stored.data,
        content_type=stored.mime_type or "application/octet-stream",
        headers=headers,
    )


# --- live events ----------------------------------------------------------------------------


async def _events(request: web.Request) -> web.StreamResponse:
    """Server-sent events until the page goes away or the sandbox stops."""
    sandbox = _sandbox(request)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            **SECURITY_HEADERS,
        }
    )
    queue = sandbox.listeners.add()
    try:
        await response.prepare(request)
        await response.write(b"retry: 1000\n\n")
        while True:
            try:
                body = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
            except TimeoutError:
                if queue not in sandbox.listeners:
                    break  # it fell too far behind: the page reconnects and reloads
                await response.write(b": still here\n\n")
                continue
            if body is None:
                break
            data = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
            await response.write(f"data: {data}\n\n".encode())
    except (ConnectionResetError, asyncio.CancelledError):
        pass  # the page closed
    finally:
        sandbox.listeners.remove(queue)
    return response


# --- jobs -----------------------------------------------------------------------------------


async def _run_job(request: web.Request) -> web.Response:
    sandbox = _sandbox(request)
    name = request.match_info["name"]
    if name not in {job.name for job in sandbox.jobs.jobs()}:
        raise ApiProblem(404, f"There is no job {name!r}.")
    try:
        summary = await sandbox.jobs.run(name)
    except Exception:
        logger.exception("sandbox: job %s failed", name)
        raise ApiProblem(500, "The job failed; the sandbox's terminal says why.") from None
    return web.json_response({"job": name, "summary": summary})


# --- helpers --------------------------------------------------------------------------------


async def _json(request: web.Request) -> JSON:
    try:
        body = await request.json()
    except ValueError:
        raise ApiProblem(400, "The request body is not JSON.") from None
    if not isinstance(body, dict):
        raise ApiProblem(400, "The request body must be a JSON object.")
    return body


def _persona(sandbox: Sandbox, raw: object) -> Persona:
    try:
        telegram_id = int(str(raw))
    except ValueError:
        raise ApiProblem(400, "Say who you are: persona=ID.") from None
    person = sandbox.persona(telegram_id)
    if person is None:
        raise ApiProblem(404, "No such person in the sandbox.")
    return person


def _chat_for(sandbox: Sandbox, person: Persona, raw: str) -> int:
    try:
        chat_id = int(raw)
    except ValueError:
        raise ApiProblem(404, "No such chat.") from None
    if chat_id not in {chat["id"] for chat in sandbox.chats_of(person)}:
        raise ApiProblem(403, f"{person.name} is not in that chat.")
    return chat_id


def _where(person: Persona, chat_id: int) -> int | None:
    """The emulator's chat argument: None for the private chat with the bot."""
    return None if chat_id == person.telegram_id else chat_id
