"""What no input may carry, whatever path it comes by: checks shared by every parser of outside data.

- Text: PostgreSQL refuses the NUL character in text and JSON, and lone UTF-16 surrogates cannot be
  encoded to UTF-8 at all; no text we store is valid with either, so both are refused, with where.
- JSON: parsed with a nesting limit (`JSON_MAX_DEPTH`) so that a body nested thousands of levels
  deep is a clear 400 rather than a RecursionError; a parsed value is checked for the text rules
  above (keys included) and for numbers JSON cannot carry back out (1e999 parses as infinity).
"""

import json
import math
import re
from typing import Any

from django.conf import settings

_SURROGATE = re.compile("[\ud800-\udfff]")


class JSONInputError(ValueError):
    """A JSON document that is refused as a whole; the message says why."""


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text, or None. Cheap for the common (ASCII) case."""
    if "\x00" in value:
        return f"contains a NUL character (\\x00) at position {value.index(chr(0)) + 1}, which text may not hold"
    if value.isascii() or (found := _SURROGATE.search(value)) is None:
        return None
    return (
        f"contains an unpaired UTF-16 surrogate (U+{ord(found.group()):04X}) at position {found.start() + 1}: "
        "send valid Unicode"
    )


def max_depth() -> int:
    return settings.JSON_MAX_DEPTH


def loads(text: str | bytes, *, limit: int | None = None) -> Any:
    """json.loads with a nesting limit; raises JSONInputError (a ValueError) with a clear message."""
    limit = limit or max_depth()
    try:
        value = json.loads(text)
    except RecursionError:
        raise JSONInputError(f"is nested too deeply (at most {limit} levels of arrays and objects)") from None
    except json.JSONDecodeError as exc:
        raise JSONInputError(f"is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    except ValueError as exc:  # e.g. an integer of more than sys.get_int_max_str_digits() digits
        raise JSONInputError(f"is not valid JSON ({exc})") from None
    check_depth(value, limit=limit)
    return value


def check_depth(value: Any, *, limit: int) -> None:
    """Raise JSONInputError if arrays and objects nest deeper than `limit` (iterative: no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            raise JSONInputError(f"is nested too deeply (at most {limit} levels of arrays and objects)")
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


def _bad_text(text: str) -> bool:
    return "\x00" in text or (not text.isascii() and _SURROGATE.search(text) is not None)


def _storable(value: Any, limit: int) -> bool:
    """The fast check behind json_problem (no messages built): every record's custom traits pass
    through it."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        kind = type(item)
        if kind is dict:
            if depth >= limit:
                return False
            for key, child in item.items():
                if type(key) is not str or _bad_text(key):
                    return False
                child_kind = type(child)
                if child_kind is str:
                    if _bad_text(child):
                        return False
                elif child_kind is float:
                    if not math.isfinite(child):
                        return False
                elif child_kind is dict or child_kind is list:
                    stack.append((child, depth + 1))
        elif kind is list:
            if depth >= limit:
                return False
            stack.extend((child, depth + 1) for child in item)
        elif kind is str:
            if _bad_text(item):
                return False
        elif kind is float and not math.isfinite(item):
            return False
    return True


def json_problem(value: Any, *, limit: int | None = None) -> str | None:
    """Why a parsed JSON value cannot be stored (a bad string, key or number, too deep), or None.
    The message names where: `key "a" of key "b": contains a NUL character ...`."""
    limit = limit or max_depth()
    if _storable(value, limit):
        return None
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
        elif isinstance(item, float):
            problem = None if math.isfinite(item) else "is a number out of range"
        elif isinstance(item, dict | list):
            if depth >= limit:
                return f"{where}is nested too deeply (at most {limit} levels)".lstrip()
            if isinstance(item, dict):
                for key, child in item.items():
                    label = f"key {key!r}" if len(key) <= 40 else f"key {key[:40]!r}…"
                    if not isinstance(key, str) or (problem := text_problem(key)):
                        return f"{where}{label}: {problem or 'must be a string'}"
                    stack.append((child, f"{where}{label}: ", depth + 1))
            else:
                stack.extend((child, f"{where}item {i}: ", depth + 1) for i, child in enumerate(item))
            continue
        else:
            continue
        if problem:
            return f"{where}{problem}"
    return None
