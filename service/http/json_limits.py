"""Bounded JSON parsing: every JSON text the service reads passes through :func:`load_bounded_json`.

Python's parser recurses once per nesting level, so ``[[[[...]]]]`` a few thousand levels deep
raises ``RecursionError`` (a 500 before this module existed). The nesting depth is measured
first, by a flat scan that skips string literals, and a text nested deeper than the limit is
refused before it is parsed; so is a text longer than the size limit. Whatever the parser still
raises on odd input (``RecursionError``, ``ValueError`` on huge integers) becomes the same
:class:`JsonLimitError`.

>>> load_bounded_json('{"boxes": [[0, 0, 8, 8]]}', max_depth=3, max_bytes=100)
{'boxes': [[0, 0, 8, 8]]}
>>> json_depth('{"a": "[[[["}')
1
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["JsonLimitError", "json_depth", "load_bounded_json"]

# A complete string literal (escapes included), or one bracket outside any string.
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


class JsonLimitError(ValueError):
    """A JSON text that is malformed, too deep or too large (``reason``: ``syntax``, ``depth``, ``size``)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def json_depth(text: str | bytes, stop_above: int | None = None) -> int:
    """Deepest nesting of arrays / objects in ``text`` (brackets inside strings do not count).

    Args:
        stop_above: return as soon as the depth exceeds this (no need to scan the rest).
    """
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    depth = deepest = 0
    for match in _TOKENS.finditer(data):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > deepest:
                deepest = depth
                if stop_above is not None and deepest > stop_above:
                    return deepest
        elif token in (b"]", b"}"):
            depth = max(depth - 1, 0)
    return deepest


def load_bounded_json(text: str | bytes, *, max_depth: int, max_bytes: int) -> Any:
    """``json.loads(text)`` within limits.

    Raises:
        JsonLimitError: ``size`` (longer than ``max_bytes``), ``depth`` (nested deeper than
            ``max_depth``) or ``syntax`` (not valid JSON, not UTF-8, or beyond the parser's means).
    """
    size = len(text.encode("utf-8", "surrogatepass")) if isinstance(text, str) else len(text)
    if size > max_bytes:
        raise JsonLimitError("size", f"{size} bytes of JSON; at most {max_bytes} are accepted")
    depth = json_depth(text, stop_above=max_depth)
    if depth > max_depth:
        raise JsonLimitError(
            "depth", f"JSON nested more than {max_depth} levels deep; at most {max_depth} are accepted"
        )
    try:
        return json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise JsonLimitError("syntax", f"not valid JSON ({exc})") from None
    except (RecursionError, ValueError, OverflowError) as exc:  # e.g. int('9' * 5000) is refused by Python
        raise JsonLimitError("syntax", f"JSON could not be parsed ({type(exc).__name__}: {exc})") from None
