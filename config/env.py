"""Typed readers for settings that come from the environment.

Each helper fails loudly (ImproperlyConfigured) on a value it cannot read, so a typo in a
deployment surfaces at start-up instead of as a silent default.
"""

import json
import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value is None:
        if default is None:
            raise ImproperlyConfigured(f"The environment variable {name} is required.")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean (use true or false).")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} must be at least {minimum}.")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


RATE_PERIODS = ("second", "minute", "hour", "day")


def env_rate(name: str, default: str) -> str | None:
    """A request rate "<count>/<period>" (period: second, minute, hour or day), or None for "off"."""
    value = os.environ.get(name, default).strip()
    if value.lower() == "off":
        return None
    count, _, period = value.partition("/")
    if not count.isdigit() or int(count) < 1 or period not in RATE_PERIODS:
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a rate: write <count>/<period> with a period of "
            f"{', '.join(RATE_PERIODS)} (e.g. 100/second), or off."
        )
    return value


def env_choice_map(name: str, default: dict[str, str], choices: tuple[str, ...]) -> dict[str, str]:
    """A JSON object mapping some of `default`'s keys to one of `choices`, e.g.
    {"sms": "not_opted_out"}; keys it leaves out keep their default."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return dict(default)
    example = json.dumps({next(iter(default)): choices[0]})
    try:
        given = json.loads(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not JSON: write an object such as {example}.") from None
    if not isinstance(given, dict):
        raise ImproperlyConfigured(f"{name}={raw!r} must be a JSON object such as {example}.")
    unknown = sorted(set(given) - set(default))
    if unknown:
        raise ImproperlyConfigured(
            f"{name} names unknown keys {', '.join(map(repr, unknown))}: the keys are {', '.join(default)}."
        )
    for key, value in given.items():
        if value not in choices:
            raise ImproperlyConfigured(f"{name}: {key}={value!r} is not one of {', '.join(choices)}.")
    return {**default, **given}
