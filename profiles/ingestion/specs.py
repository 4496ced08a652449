"""What each importable entity accepts: fields, how each is parsed, references, required fields.

A spec is derived from the model's own fields (so a new field is importable without more code),
with a few semantic parsers chosen by field name (email, phone, country, timezone, currency).
References name the related row by its external id (`"profile": "cust-1"`, `"product": "SKU-1"`).
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, partial
from typing import Any

from django.db import models

from profiles import validation
from profiles.models import Booking, InventoryItem, Plan, Product, Profile, Purchase, Subscription

KEY_FIELD = "external_id"
_AUTOMATIC = {"id", KEY_FIELD, "created_at", "updated_at"}
_BY_NAME = {
    "email": validation.email,
    "country": validation.country,
    "timezone": validation.time_zone,
    "currency": validation.currency,
}


@dataclass(frozen=True)
class FieldSpec:
    name: str
    attname: str
    parse: Callable[[Any, dict], Any]  # (raw value, raw record) -> stored value
    nullable: bool
    reference: type[models.Model] | None = None


def _text_parser(max_length: int) -> Callable[[Any, dict], str]:
    """validation.text, with the common case (a string within the limit) inline."""

    def parse(value: Any, record: dict) -> str:
        if type(value) is str and value.isascii() and "\x00" not in value:
            value = value.strip()
            if len(value) <= max_length:
                return value
        return validation.text(value, max_length=max_length)

    return parse


def _parser_for(field: models.Field) -> Callable[[Any, dict], Any]:
    if field.name == "phone":
        phone = validation.phone
        return lambda value, record: phone(value, region=str(record.get("country") or "") or None)
    if field.name in _BY_NAME:
        parser = _BY_NAME[field.name]
    elif field.is_relation:
        return _text_parser(128)
    elif field.choices:
        parser = partial(validation.choice, choices=tuple(value for value, _ in field.flatchoices))
    elif isinstance(field, models.DateTimeField):
        parser = validation.datetime
    elif isinstance(field, models.DateField):
        parser = validation.date
    elif isinstance(field, models.DecimalField):
        parser = partial(validation.decimal, max_digits=field.max_digits, decimal_places=field.decimal_places)
    elif isinstance(field, models.IntegerField):
        minimum, maximum = validation.INTEGER_RANGES.get(field.get_internal_type(), (None, None))
        parser = partial(validation.integer, minimum=minimum, maximum=maximum)
    elif isinstance(field, models.BooleanField):
        parser = validation.boolean
    elif isinstance(field, models.JSONField):
        parser = validation.json_object
    elif isinstance(field, models.CharField):
        return _text_parser(field.max_length)
    else:  # pragma: no cover - a deployer's unusual field: make it explicit in the spec
        raise TypeError(f"No import parser for {field.model.__name__}.{field.name} ({type(field).__name__})")
    return lambda value, record: parser(value)


_parse_key = _text_parser(128)


@dataclass(frozen=True)
class EntitySpec:
    """How records of one entity are read: `key` is the API/CLI name (`bookings`)."""

    key: str
    model: type[models.Model]

    @cached_property
    def fields(self) -> dict[str, FieldSpec]:
        specs = {}
        for field in self.model._meta.concrete_fields:
            if field.name in _AUTOMATIC:
                continue
            specs[field.name] = FieldSpec(
                name=field.name,
                attname=field.attname,
                parse=_parser_for(field),
                nullable=field.null,
                reference=field.related_model if field.is_relation else None,
            )
        return specs

    @cached_property
    def required(self) -> frozenset[str]:
        """Fields a new row must be given: not nullable, no default, not blank-able."""
        return frozenset(
            field.name
            for field in self.model._meta.concrete_fields
            if field.name not in _AUTOMATIC and not field.null and not field.has_default() and not field.blank
        )

    @property
    def label(self) -> str:
        return self.model._meta.verbose_name

    @cached_property
    def _parsers(self) -> dict[str, tuple[Callable[[Any, dict], Any], bool]]:
        """Field name -> (parser, whether an empty value is refused), for parse()."""
        return {
            name: (spec.parse, spec.reference is not None or name in self.required)
            for name, spec in self.fields.items()
        }

    def parse(self, raw: Any) -> tuple[str | None, dict[str, Any], dict[str, list[str]]]:
        """Parse one record: (external id, {field name: value}, {field: [error, ...]})."""
        if not isinstance(raw, dict):
            return None, {}, {"non_field_errors": ["each record must be a JSON object"]}
        errors: dict[str, list[str]] = {}
        key = raw.get(KEY_FIELD)
        try:
            key = _parse_key(key, raw) if key is not None else ""
        except ValueError as exc:
            errors[KEY_FIELD] = [str(exc)]
            key = None
        else:
            if not key:
                errors[KEY_FIELD] = ["is required"]
                key = None
        parsers = self._parsers
        values: dict[str, Any] = {}
        for name, value in raw.items():
            try:
                parse, refuse_empty = parsers[name]
            except KeyError:
                if name != KEY_FIELD:
                    errors[name] = [f"unknown field for {self.label}"]
                continue
            try:
                parsed = parse(value, raw)
            except ValueError as exc:
                errors[name] = [str(exc)]
                continue
            if refuse_empty and parsed in (None, ""):
                errors[name] = ["may not be empty"]
                continue
            values[name] = parsed
        return key, values, errors


SPECS: dict[str, EntitySpec] = {
    spec.key: spec
    for spec in (
        EntitySpec("profiles", Profile),
        EntitySpec("products", Product),
        EntitySpec("inventory", InventoryItem),
        EntitySpec("plans", Plan),
        EntitySpec("subscriptions", Subscription),
        EntitySpec("bookings", Booking),
        EntitySpec("purchases", Purchase),
    )
}
