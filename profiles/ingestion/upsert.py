"""Set-based bulk upsert keyed by external id.

A batch costs a handful of statements whatever its size: one SELECT per referenced model to
resolve external ids, one SELECT for which keys exist, and one `INSERT ... ON CONFLICT
(external_id) DO UPDATE` per distinct set of named fields (a record that names only some fields
updates only those). Records are applied as if one after another: a key named twice merges, the
later values winning. A record with any error is not applied at all and is reported by index.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from profiles.ingestion.specs import KEY_FIELD, SPECS, EntitySpec

_IN_CHUNK = 5000  # ids per IN (...) list: well under SQLite's variable limit


@dataclass
class BulkResult:
    created: int = 0
    updated: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def add(self, other: "BulkResult", *, index_offset: int = 0) -> None:
        self.created += other.created
        self.updated += other.updated
        for error in other.errors:
            self.errors.append({**error, "index": error["index"] + index_offset})

    def as_dict(self) -> dict[str, Any]:
        return {"created": self.created, "updated": self.updated, "errors": self.errors}


def ids_by_external_id(model, keys) -> dict[str, int]:
    keys = list(keys)
    found: dict[str, int] = {}
    for start in range(0, len(keys), _IN_CHUNK):
        chunk = keys[start : start + _IN_CHUNK]
        found.update(model._default_manager.filter(external_id__in=chunk).values_list("external_id", "id"))
    return found


def _error(index: int, key: str | None, errors: dict[str, list[str]]) -> dict[str, Any]:
    return {"index": index, "external_id": key, "errors": errors}


def entity_bulk_upsert(*, entity: str | EntitySpec, records: list[Any]) -> BulkResult:
    """Create or update rows of one entity from a batch of records (see module docstring)."""
    spec = SPECS[entity] if isinstance(entity, str) else entity
    result = BulkResult()
    parsed: list[tuple[int, str, dict[str, Any]]] = []
    for index, raw in enumerate(records):
        key, values, errors = spec.parse(raw)
        if errors:
            result.errors.append(_error(index, key, errors))
        else:
            parsed.append((index, key, values))

    # Resolve references (external ids) to primary keys, one query per referenced model.
    references = {name: f for name, f in spec.fields.items() if f.reference is not None}
    resolved: dict[str, dict[str, int]] = {
        name: ids_by_external_id(f.reference, {values[name] for _, _, values in parsed if name in values})
        for name, f in references.items()
    }
    valid: list[tuple[int, str, dict[str, Any]]] = []
    for index, key, values in parsed:
        unknown = {
            name: [f"unknown {references[name].reference._meta.verbose_name} {values[name]!r}"]
            for name in references
            if name in values and values[name] not in resolved[name]
        }
        if unknown:
            result.errors.append(_error(index, key, unknown))
            continue
        for name in references:
            if name in values:
                values[references[name].attname] = resolved[name][values.pop(name)]
        valid.append((index, key, values))

    existing = set(ids_by_external_id(spec.model, {key for _, key, _ in valid}))
    merged: dict[str, dict[str, Any]] = {}
    indexes: dict[str, list[int]] = defaultdict(list)
    for index, key, values in valid:
        merged.setdefault(key, {}).update(values)
        indexes[key].append(index)

    required = {spec.fields[name].attname: name for name in spec.required}
    for key in [k for k in merged if k not in existing]:
        missing = sorted(name for attname, name in required.items() if attname not in merged[key])
        if missing:
            for index in indexes.pop(key):
                result.errors.append(
                    _error(index, key, {name: [f"is required to create a new {spec.label}"] for name in missing})
                )
            del merged[key]

    for key, seen in indexes.items():
        if key in existing:
            result.updated += len(seen)
        else:
            result.created += 1
            result.updated += len(seen) - 1

    # One upsert statement per distinct set of named fields.
    groups: dict[tuple[str, ...], list[Any]] = defaultdict(list)
    now = timezone.now()
    for key, values in merged.items():
        instance = spec.model(**{KEY_FIELD: key, **values})
        instance.created_at = instance.updated_at = now
        groups[tuple(sorted(values))].append(instance)
    with transaction.atomic():
        for fields, instances in groups.items():
            spec.model._default_manager.bulk_create(
                instances,
                update_conflicts=True,
                unique_fields=[KEY_FIELD],
                update_fields=[*fields, "updated_at"],
            )
    result.errors.sort(key=lambda error: error["index"])
    return result
