"""Set-based bulk upsert keyed by external id.

Records are applied as if one after another: a key named twice merges, the later values winning,
and a record updates only the fields it names. A record with any error is not applied at all and
is reported by index; so are the records of a new key that lacks a required field.

A batch costs a handful of statements whatever its size: one SELECT per referenced model to
resolve external ids, then the write. On PostgreSQL the write is a COPY into a staging table and
one statement (profiles/ingestion/staging.py); elsewhere (SQLite) it is one SELECT for which keys
exist, then an `INSERT ... ON CONFLICT` and an `UPDATE ... FROM (VALUES ...)` per distinct set of
named fields.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from profiles.ingestion.isolation import write_isolating
from profiles.ingestion.specs import KEY_FIELD, SPECS, EntitySpec
from profiles.ingestion.staging import write_staged

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


def update_rows_by_pk(model, fields: list[str], rows: list[tuple[int, dict[str, Any]]], chunk: int = 500) -> None:
    """`WITH v(pk, f1, ...) AS (VALUES ...) UPDATE t SET f1 = v.f1 ... FROM v WHERE t.pk = v.pk`:
    one statement per chunk, on PostgreSQL and SQLite alike (fields are attnames or names)."""
    meta = model._meta
    model_fields = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    columns = [f"c{i}" for i in range(len(model_fields))]
    casts = (
        ["%s::bigint", *(f"%s::{f.db_type(connection)}" for f in model_fields)]
        if connection.vendor == "postgresql"
        else ["%s"] * (len(model_fields) + 1)
    )
    row_sql = "(" + ", ".join(casts) + ")"
    assignments = ", ".join(f"{quote(f.column)} = v.{c}" for f, c in zip(model_fields, columns, strict=True))
    table = quote(meta.db_table)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), chunk):
            part = rows[start : start + chunk]
            params: list[Any] = []
            for pk, values in part:
                params.append(pk)
                params.extend(
                    f.get_db_prep_save(values[f.name if f.name in values else f.attname], connection)
                    for f in model_fields
                )
            cursor.execute(
                f"WITH v(pk, {', '.join(columns)}) AS (VALUES {', '.join([row_sql] * len(part))}) "
                f"UPDATE {table} SET {assignments} FROM v WHERE {table}.{quote(meta.pk.column)} = v.pk",
                params,
            )


def _error(index: int, key: str | None, errors: dict[str, list[str]]) -> dict[str, Any]:
    return {"index": index, "external_id": key, "errors": errors}


def entity_bulk_upsert(*, entity: str | EntitySpec, records: list[Any]) -> BulkResult:
    """Create or update rows of one entity from a batch of records (see module docstring)."""
    spec = SPECS[entity] if isinstance(entity, str) else entity
    result = BulkResult()
    merged, indexes = _merge_valid(spec, records, result)
    write = write_staged if connection.vendor == "postgresql" else _write_by_field_set
    written, refused = write_isolating(list(merged), lambda keys: write(spec, {key: merged[key] for key in keys}))
    inserted = set().union(*(part[0] for part in written))
    rejected = set().union(*(part[1] for part in written))
    for key, message in refused:
        result.errors.extend(_error(index, key, {"non_field_errors": [message]}) for index in indexes.pop(key))
    for key, seen in indexes.items():
        if key in rejected:
            result.errors.extend(required_errors(spec, key, merged[key], seen))
        elif key in inserted:
            result.created += 1
            result.updated += len(seen) - 1
        else:
            result.updated += len(seen)
    result.errors.sort(key=lambda error: error["index"])
    return result


def _merge_valid(
    spec: EntitySpec, records: list[Any], result: BulkResult
) -> tuple[dict[str, dict[str, Any]], dict[str, list[int]]]:
    """Parse every record and resolve its references; reject the invalid ones into `result`.

    Returns the valid records merged by key in arrival order (`{key: {attname: value}}`, the later
    values winning) and the indexes of the records behind each key."""
    parse = spec.parse
    errors = result.errors
    parsed: list[tuple[int, str, dict[str, Any]]] = []
    for index, raw in enumerate(records):
        key, values, problems = parse(raw)
        if problems:
            errors.append(_error(index, key, problems))
        else:
            parsed.append((index, key, values))

    # Resolve references (external ids) to primary keys, one query per referenced model.
    references = {name: f for name, f in spec.fields.items() if f.reference is not None}
    if references:
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
                errors.append(_error(index, key, unknown))
                continue
            for name in references:
                if name in values:
                    values[references[name].attname] = resolved[name][values.pop(name)]
            valid.append((index, key, values))
        parsed = valid

    merged: dict[str, dict[str, Any]] = {}
    indexes: dict[str, list[int]] = {}
    for index, key, values in parsed:
        if key in merged:
            merged[key].update(values)
            indexes[key].append(index)
        else:
            merged[key] = values
            indexes[key] = [index]
    return merged, indexes


def required_errors(spec: EntitySpec, key: str, values: dict[str, Any], indexes: list[int]) -> list[dict[str, Any]]:
    """The errors of the records behind a new key that lacks required fields (none if complete)."""
    missing = sorted(name for name in spec.required if spec.fields[name].attname not in values)
    if not missing:
        return []
    return [
        _error(index, key, {name: [f"is required to create a new {spec.label}"] for name in missing})
        for index in indexes
    ]


def _write_by_field_set(spec: EntitySpec, merged: dict[str, dict[str, Any]]) -> tuple[set[str], set[str]]:
    """The portable write path (SQLite; PostgreSQL takes staging.write_staged). Looks up which
    keys exist, then per distinct set of named fields writes one `INSERT ... ON CONFLICT` for new
    keys (safe if another batch creates the same key meanwhile) and one `UPDATE ... FROM` for
    existing ones, so a partial record never has to carry the row's other NOT NULL columns.
    Returns the keys inserted and the keys rejected (new, lacking required fields)."""
    existing = ids_by_external_id(spec.model, merged)
    required = {spec.fields[name].attname for name in spec.required}
    rejected = {key for key, values in merged.items() if key not in existing and not required.issubset(values)}
    now = timezone.now()
    inserts: dict[tuple[str, ...], list[Any]] = defaultdict(list)
    updates: dict[tuple[str, ...], list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    for key, values in merged.items():
        fields = tuple(sorted(values))
        if key in existing:
            updates[fields].append((existing[key], values))
        elif key not in rejected:
            instance = spec.model(**{KEY_FIELD: key, **values})
            instance.created_at = instance.updated_at = now
            inserts[fields].append(instance)
    with transaction.atomic():
        for fields, instances in inserts.items():
            spec.model._default_manager.bulk_create(
                instances, update_conflicts=True, unique_fields=[KEY_FIELD], update_fields=[*fields, "updated_at"]
            )
        for fields, rows in updates.items():
            update_rows_by_pk(
                spec.model, [*fields, "updated_at"], [(pk, {**values, "updated_at": now}) for pk, values in rows]
            )
    return set(merged).difference(existing, rejected), rejected
