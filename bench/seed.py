"""The reference data set, generated set-based inside PostgreSQL.

    python -m bench.seed [--profiles 1000000] [--scale 1.0] [--no-vacuum] [--no-record]

Every row comes from one `INSERT ... SELECT ... FROM generate_series(...)` per table: no data
crosses the wire. Pseudo-random choices are `hashint8extended(row number, salt)`, so the same
sizes always give the same rows, whatever the plan or the machine.

The whole load is one transaction: existing rows are truncated, secondary indexes and foreign keys
dropped, tables filled, then the indexes rebuilt and the foreign keys re-added (each checked in one
pass instead of once per row). An interrupted run rolls back and leaves the tables as they were.
VACUUM ANALYZE follows, so plans and index-only scans see a settled table.

Sizes (the reference is 1,000,000 profiles; the rest scale with the profile count):
3 bookings and 5 purchases per profile, 2 products per 1,000 profiles, 3 inventory rows per
product, 6 plans, a subscription for 1 profile in 5, email consent for every profile (10% opted
out), SMS consent for 45% of those with a phone, a push device for 15% of profiles.
"""

import argparse

from bench.common import Timer, append_results, print_table, setup
from bench.seed_tables import (
    bookings_sql,
    consent_events_sql,
    consents_sql,
    inventory_sql,
    plans_sql,
    products_sql,
    profiles_sql,
    purchases_sql,
    push_sql,
    sizes_for,
    subscriptions_sql,
    suppressions_sql,
)

# Tables of the customer store, in load order (parents first).
TABLES = [
    "profiles_product",
    "profiles_inventoryitem",
    "profiles_plan",
    "profiles_profile",
    "profiles_subscription",
    "profiles_booking",
    "profiles_purchase",
    "profiles_consent",
    "profiles_consentevent",
    "profiles_pushdevice",
    "profiles_suppression",
]
HISTORY_TABLES = [
    "profiles_historicalprofile",
    "profiles_historicalproduct",
    "profiles_historicalinventoryitem",
    "profiles_historicalplan",
    "profiles_historicalsubscription",
    "profiles_historicalbooking",
    "profiles_historicalpurchase",
    "profiles_historicalsuppression",
]
# Product categories: (name, share of the catalogue, bookable, item names, price range in EUR).


# -- the load ----------------------------------------------------------------------------------


def secondary_indexes(cursor) -> list[tuple[str, str, str]]:
    """(table, index, definition) of every index that backs no primary key or unique rule."""
    cursor.execute(
        """
        SELECT t.relname, ic.relname, pg_get_indexdef(i.indexrelid)
        FROM pg_index i
        JOIN pg_class t ON t.oid = i.indrelid
        JOIN pg_class ic ON ic.oid = i.indexrelid
        JOIN pg_namespace ns ON ns.oid = t.relnamespace
        WHERE ns.nspname = current_schema() AND t.relname = ANY(%s)
          AND NOT i.indisprimary AND NOT i.indisunique
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x'))
        ORDER BY t.relname, ic.relname
        """,
        [TABLES],
    )
    return cursor.fetchall()


def foreign_keys(cursor) -> list[tuple[str, str, str]]:
    """(table, constraint, definition) of the foreign keys of the loaded tables."""
    cursor.execute(
        """
        SELECT t.relname, c.conname, pg_get_constraintdef(c.oid)
        FROM pg_constraint c
        JOIN pg_class t ON t.oid = c.conrelid
        JOIN pg_namespace ns ON ns.oid = t.relnamespace
        WHERE ns.nspname = current_schema() AND c.contype = 'f' AND t.relname = ANY(%s)
        ORDER BY t.relname, c.conname
        """,
        [TABLES],
    )
    return cursor.fetchall()


def seed(*, profiles: int, vacuum: bool = True) -> tuple[list[tuple], dict[str, int], float]:
    """Load the data set; returns (timing rows, row counts, total seconds)."""
    from django.db import connection, transaction

    size = sizes_for(profiles)
    timings: list[tuple] = []

    def step(label: str, statements: str | list[str], *, table: str | None = None) -> None:
        with Timer() as timer:
            for statement in [statements] if isinstance(statements, str) else statements:
                cursor.execute(statement)
        rows = count(table) if table else None
        timings.append((label, rows if rows is not None else "", timer.seconds))
        shown = f"{rows:>12,} rows" if rows is not None else " " * 17
        print(f"  {label:<38}{shown} {timer.seconds:8.1f} s", flush=True)

    def count(table: str) -> int:
        cursor.execute(f"SELECT count(*) FROM {table}")
        return cursor.fetchone()[0]

    print(
        f"Seeding {size['profiles']:,} profiles, {size['bookings']:,} bookings, {size['purchases']:,} purchases, "
        f"{size['products']:,} products into {connection.settings_dict['NAME']}.",
        flush=True,
    )
    with Timer() as total:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
            cursor.execute("SET LOCAL work_mem = '256MB'")
            cursor.execute("SET LOCAL synchronous_commit = off")
            indexes, fks = secondary_indexes(cursor), foreign_keys(cursor)
            step(
                "truncate, drop indexes and foreign keys",
                [
                    f"TRUNCATE {', '.join(TABLES + HISTORY_TABLES)} RESTART IDENTITY CASCADE",
                    *(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"' for table, name, _ in fks),
                    *(f'DROP INDEX "{name}"' for _, name, _ in indexes),
                ],
            )
            step("products", products_sql(size["products"]), table="profiles_product")
            step("inventory", inventory_sql(), table="profiles_inventoryitem")
            step("plans", plans_sql(), table="profiles_plan")
            step("profiles", profiles_sql(profiles), table="profiles_profile")
            step("subscriptions", subscriptions_sql(profiles), table="profiles_subscription")
            step(
                "bookings",
                bookings_sql(size["bookings"], profiles, size["bookable products"]),
                table="profiles_booking",
            )
            step("purchases", purchases_sql(size["purchases"], profiles, size["products"]), table="profiles_purchase")
            step("push devices", push_sql(profiles)[0], table="profiles_pushdevice")
            step(
                "consents (email, sms, push)",
                [*consents_sql(profiles), push_sql(profiles)[1]],
                table="profiles_consent",
            )
            step("consent events", consent_events_sql(), table="profiles_consentevent")
            step("suppressions", suppressions_sql(), table="profiles_suppression")
            for table in TABLES:
                defs = [definition for t, _, definition in indexes if t == table]
                if defs:
                    step(f"indexes on {table.removeprefix('profiles_')} ({len(defs)})", defs)
            step(
                f"foreign keys ({len(fks)})",
                [f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}' for table, name, definition in fks],
            )
            step(
                "sequences",
                [
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 1), max(id) IS NOT NULL) "
                    f"FROM {table}"
                    for table in TABLES
                ],
            )
        with connection.cursor() as cursor:
            step(
                "vacuum analyze" if vacuum else "analyze", [f"{'VACUUM ' if vacuum else ''}ANALYZE {t}" for t in TABLES]
            )
            counts = {table.removeprefix("profiles_"): count(table) for table in TABLES}
            cursor.execute(
                "SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_class c WHERE c.relname = ANY(%s)",
                [TABLES],
            )
            counts["size on disk"] = cursor.fetchone()[0]
    return timings, counts, total.seconds


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", type=int, help="Profiles to generate (default 1,000,000 x scale).")
    parser.add_argument("--scale", type=float, default=1.0, help="Multiplies the reference sizes (default 1.0).")
    parser.add_argument("--no-vacuum", action="store_true", help="ANALYZE only, no VACUUM, after the load.")
    parser.add_argument("--no-record", action="store_true", help="Do not append the figures to bench/RESULTS.md.")
    args = parser.parse_args(argv)
    profiles = args.profiles if args.profiles is not None else round(1_000_000 * args.scale)
    if profiles < 100:
        parser.error("--profiles must be at least 100")

    setup()
    timings, counts, seconds = seed(profiles=profiles, vacuum=not args.no_vacuum)
    steps = print_table("Seed timings", ["step", "rows", "seconds"], [*timings, ("total", "", seconds)])
    disk = counts.pop("size on disk")
    rows = print_table("Row counts", ["table", "rows"], list(counts.items()))
    print(f"Seeded in {seconds:.0f} s ({seconds / 60:.1f} min); {disk} on disk with indexes.")
    if not args.no_record:
        append_results(
            f"Reference data set ({profiles:,} profiles)",
            f"`python -m bench.seed --profiles {profiles}`: **{seconds:.0f} s** ({seconds / 60:.1f} min) "
            f"in one transaction, indexes and foreign keys rebuilt after the load; {disk} on disk.\n\n"
            f"Timings:\n\n{steps}\n\nRow counts after the load:\n\n{rows}\n",
        )


if __name__ == "__main__":
    main()
