"""HTML-safe text for Telegram: escaping user input and splitting long messages."""

from __future__ import annotations

import html
import re

MAX_MESSAGE_CHARS = 4096


def escape(value: object) -> str:
    """Escape anything a person typed (names, notes) before it goes into an HTML message."""
    return html.escape(str(value), quote=False)


def bold(value: object) -> str:
    return f"<b>{escape(value)}</b>"


# The pieces a cut may fall between: a tag, an entity, a line break, a run of other spaces, a
# run of text (cut inside only when there is no better place), or a lone character.
_ATOM = re.compile(r"<[^<>]*>|&#?[A-Za-z0-9]{1,32};|\n|[^\S\n]+|[^<&\s]+|.", re.S)
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)")
_Stack = tuple[tuple[str, str], ...]  # open tags: (name, the opening tag as written)


def split_message(text: str, limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """Split HTML into chunks of at most ``limit`` characters that Telegram accepts one by one.

    Cuts at the last line break that fits, else at the last space, else anywhere — but never
    inside a tag or an entity (``&amp;``); tags open at a cut are closed at the end of the chunk
    and opened again at the start of the next, so every chunk is well-formed. Chunks with
    nothing visible (only blank lines) are left out, as Telegram refuses empty messages.
    """
    if len(text) <= limit:
        return [text]
    atoms = _ATOM.findall(text)
    chunks: list[str] = []
    start, stack = 0, _Stack()
    while start < len(atoms):
        prefix = "".join(opening for _, opening in stack)
        size, here, end = len(prefix), stack, start
        closing = _closing_size(here)
        at_line: tuple[int, _Stack] | None = None
        at_space: tuple[int, _Stack] | None = None
        while end < len(atoms):
            atom = atoms[end]
            after = _track(here, atom) if atom[0] == "<" else here
            after_closing = closing if after is here else _closing_size(after)
            if size + len(atom) + after_closing > limit:
                break
            size, here, closing, end = size + len(atom), after, after_closing, end + 1
            if atom == "\n":
                at_line = (end, here)
            elif atom.isspace():
                at_space = (end, here)
        found = at_line or at_space
        if end == len(atoms):
            cut = resume = end
        elif found is not None:
            resume, here = found
            cut = resume - 1  # the line break or spaces themselves are dropped
        else:
            room = limit - size - closing
            atom = atoms[end]
            if room > 0 and atom[0] not in "<&":  # a long run of text: cut inside it
                atoms[end : end + 1] = [atom[:room], atom[room:]]
                end += 1
            if end == start:
                raise ValueError(f"cannot split: tags alone are longer than {limit} characters")
            cut = resume = end
        chunk = prefix + "".join(atoms[start:cut]) + _closing(here)
        if not _blank(chunk):
            chunks.append(chunk)
        start, stack = resume, here
    return chunks


def _track(stack: _Stack, atom: str) -> _Stack:
    """The open tags after ``atom``."""
    match = _TAG.match(atom)
    if match is None or not atom.endswith(">"):
        return stack
    closing, name = match.group(1), match.group(2).lower()
    if not closing:
        return (*stack, (name, atom))
    for depth in range(len(stack) - 1, -1, -1):
        if stack[depth][0] == name:
            return stack[:depth]
    return stack


def _closing(stack: _Stack) -> str:
    return "".join(f"</{name}>" for name, _ in reversed(stack))


def _closing_size(stack: _Stack) -> int:
    return sum(len(name) + 3 for name, _ in stack)


def _blank(chunk: str) -> bool:
    return not html.unescape(re.sub(r"<[^<>]*>", "", chunk)).strip()
