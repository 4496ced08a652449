"""The PostgreSQL write path of the bulk upsert: COPY into a staging table, then one statement.

The merged records of a batch are copied into a session's temporary table, one row per key, with
a bit mask of the fields each one names (`given`) and whether it carries every field a new row
needs (`insertable`). Then one statement writes them all:

    WITH inserted AS (INSERT INTO t (...) SELECT ... FROM stage WHERE insertable
                      ON CONFLICT (external_id) DO NOTHING RETURNING external_id),
         updated AS (UPDATE t SET c = CASE WHEN s.given & 4 <> 0 THEN s.c ELSE t.c END, ...
                     FROM stage s WHERE t.external_id = s.external_id RETURNING t.external_id)
    SELECT ...

Both parts see the table as it was when the statement began, so each key is inserted or updated,
never both, and an update changes only the columns its records named. Two cases leave a key in
neither part:

- it is new and lacks a required field: its records are rejected, as on every other path;
- another transaction inserted it after the statement began (the insert waits for that
  transaction and then conflicts, the update cannot see the row): such keys are written again by
  the same statement restricted to them, which now sees the row and updates it.

So no record is lost or counted twice, and the counts are those of applying the records one after
the other. No model instances are built; values go to the server through COPY with their types.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from profiles.ingestion.specs import KEY_FIELD, EntitySpec

# A key left in neither part is one another transaction inserted meanwhile: written again. Each
# round waits for the transactions it conflicts with, so more than a few rounds means something
# else is wrong (e.g. a REPEATABLE READ transaction around the call, which cannot see new rows).
_MAX_ROUNDS = 10


@dataclass(frozen=True)
class _Plan:
    """The statements for one entity and the fields in stage column order (built once per spec)."""

    fields: list[models.Field]
    required: frozenset[str]  # attnames a new row must be given
    create: str
    copy: str
    write: str
    write_again: str  # the same, restricted to the keys in %(keys)s


@cache
def _plan(spec: EntitySpec) -> _Plan:
    meta = spec.model._meta
    quote = connection.ops.quote_name
    table, key = quote(meta.db_table), quote(KEY_FIELD)
    stage = quote(f"ingest_{meta.db_table}")
    fields = [meta.get_field(name) for name in spec.fields]
    if len(fields) > 63:  # pragma: no cover - `given` is a bigint mask
        raise ValueError(f"{spec.label} has more fields than the staging mask holds")
    names = [quote(field.column) for field in fields]
    typed = ", ".join(f"{name} {field.db_type(connection)}" for name, field in zip(names, fields, strict=True))
    stored = ", ".join(names)
    assignments = ", ".join(
        f"{name} = CASE WHEN s.given & {1 << i} <> 0 THEN s.{name} ELSE t.{name} END" for i, name in enumerate(names)
    )
    created_at, updated_at = quote(meta.get_field("created_at").column), quote(meta.get_field("updated_at").column)
    write = f"""
        WITH inserted AS (
            INSERT INTO {table} ({key}, {stored}, {created_at}, {updated_at})
            SELECT {key}, {stored}, %(now)s, %(now)s FROM {stage} WHERE insertable{{only}}
            ON CONFLICT ({key}) DO NOTHING
            RETURNING {key}
        ), updated AS (
            UPDATE {table} t SET {assignments}, {updated_at} = %(now)s
            FROM {stage} s WHERE t.{key} = s.{key}{{only_s}}
            RETURNING t.{key}
        )
        SELECT {key}, true FROM inserted UNION ALL SELECT {key}, false FROM updated"""
    return _Plan(
        fields=fields,
        required=frozenset(spec.fields[name].attname for name in spec.required),
        # One temporary table per session, emptied before each batch (a session may run many).
        create=(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ({key} varchar(128) NOT NULL, "
            f"given bigint NOT NULL, insertable boolean NOT NULL, {typed}); TRUNCATE {stage}"
        ),
        copy=f"COPY {stage} ({key}, given, insertable, {stored}) FROM STDIN",
        write=write.format(only="", only_s=""),
        write_again=write.format(only=f" AND {key} = ANY(%(keys)s)", only_s=f" AND s.{key} = ANY(%(keys)s)"),
    )


def _stage_rows(plan: _Plan, merged: dict[str, dict[str, Any]]) -> Iterator[list[Any]]:
    """The COPY rows: key, `given` mask, `insertable`, then each field's value, or for a field the
    record does not name, what a new row gets (the model's default; a callable one called now)."""
    defaults, bits, json_fields = [], {}, []
    for i, field in enumerate(plan.fields):
        default = field.get_default()
        if isinstance(field, models.JSONField):
            json_fields.append((3 + i, field.attname, field.encoder))
            default = default if default is None else json.dumps(default, cls=field.encoder)
        defaults.append((field.attname, default))
        bits[field.attname] = 1 << i
    flags: dict[tuple[str, ...], tuple[int, bool]] = {}  # by the names a record gives: few per batch
    # In key order, so that two batches sharing keys lock their rows in the same order (the plans
    # read the staging table in the order it was written), which spares most deadlocks.
    for key in sorted(merged):
        values = merged[key]
        names = tuple(values)
        if (known := flags.get(names)) is None:
            known = flags[names] = (sum(bits[name] for name in names), plan.required.issubset(names))
        get = values.get
        row = [key, *known, *[get(attname, default) for attname, default in defaults]]
        for position, attname, encoder in json_fields:
            if get(attname) is not None:
                row[position] = json.dumps(values[attname], cls=encoder)
        yield row


def write_staged(spec: EntitySpec, merged: dict[str, dict[str, Any]]) -> tuple[set[str], set[str]]:
    """Insert or update the merged records of a batch (`{key: {attname: value}}`).

    Returns the keys inserted and the keys rejected (new, lacking required fields); every other
    key was updated."""
    plan = _plan(spec)
    required = plan.required
    inserted: set[str] = set()
    rejected: set[str] = set()
    if not merged:
        return inserted, rejected
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(plan.create)
        with cursor.cursor.copy(plan.copy) as copy:
            write_row = copy.write_row
            for row in _stage_rows(plan, merged):
                write_row(row)
        statement, params = plan.write, {"now": timezone.now()}
        pending = set(merged)
        for _ in range(_MAX_ROUNDS):
            cursor.execute(statement, params)
            for key, was_inserted in cursor.fetchall():
                pending.discard(key)
                if was_inserted:
                    inserted.add(key)
            for key in [key for key in pending if not required.issubset(merged[key])]:
                rejected.add(key)
                pending.discard(key)
            if not pending:
                break
            statement, params = plan.write_again, {**params, "keys": list(pending)}
        else:
            raise RuntimeError(f"{len(pending)} {spec.label} keys were neither inserted nor updated")
    return inserted, rejected
