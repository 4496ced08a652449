"""B3, ingestion: bulk upsert of profiles through `import_data` and through the API, against the
validation floor measured in the same run.

    python -m bench.b3_ingestion [--records 200000] [--only floor,import,api,...] [--profile PHASE]

The same generated records (deterministic, realistic: national and international phone formats,
mixed-case emails, optional fields left out) go through, each into an emptied profiles table:

  floor      a Python loop that only validates them with profiles/validation.py (email syntax,
             phone to E.164 with the record's country, birth date); no database
  import     `manage.py import_data profiles <file>.csv --batch-size 1000` (call_command), with the
             command's default --jobs (one worker process per CPU)
  import-1   the same with --jobs 1: one process
  api        POST /api/v1/profiles/bulk-upsert/, 1,000 records a request, Django's test client
             in-process with token authentication (request bodies encoded before the clock starts)
  api-again  the same requests again: every record is now an update
  service    entity_bulk_upsert() called directly, 1,000 at a time (no CSV, no HTTP): where the
             time of the two above goes
  copy       plain COPY of the same rows, already normalised, for scale

Bars: import >= 0.5 x floor, API >= 0.3 x floor. The floor is the faster of
two measurements (before and after the loads), so the ratios err on the strict side. The generated
records are frozen out of the garbage collector (see settle()) so that no phase pays for them.

It runs on its own database (`orchestrator_bench_b3` unless DATABASE_URL is set) because it empties
the profiles table; it refuses to run on a database holding bookings or purchases (the reference
data set) unless --allow-truncate is given.
"""

import argparse
import contextlib
import cProfile
import csv
import gc
import io
import json
import pstats
import random
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench import people
from bench.common import Timer, append_results, print_table, setup

BATCH = 1000
PHASES = ("floor", "import", "import-1", "api", "api-again", "service", "copy")
BARS = {"import": 0.5, "api": 0.3}
CSV_COLUMNS = [
    "external_id", "email", "phone", "first_name", "last_name", "locale", "timezone", "country", "city",
    "address_line1", "postal_code", "region", "birth_date", "loyalty_tier",
    "attributes.segment", "attributes.signup_channel", "attributes.lifetime_nights",
]  # fmt: skip
COPY_COLUMNS = [
    "external_id", "email", "phone", "first_name", "last_name", "locale", "timezone", "country", "city",
    "address_line1", "address_line2", "postal_code", "region", "birth_date", "loyalty_tier", "attributes",
    "created_at", "updated_at",
]  # fmt: skip


# -- the records -------------------------------------------------------------------------------


def generate(count: int, seed: int = 3) -> tuple[list[dict], list[str]]:
    """`count` profile records as an integration would send them, and each one's E.164 phone."""
    rng = random.Random(seed)
    countries = people.COUNTRIES
    tiers = [tier for percent, tier in people.TIERS for _ in range(percent)]
    records, e164 = [], []
    for number in range(1, count + 1):
        country = rng.choices(countries, weights=[c.weight for c in countries])[0]
        city = rng.choices(country.cities, weights=people.CITY_WEIGHTS)[0]
        first, last = rng.choice(country.first_names), rng.choice(country.last_names)
        record = {
            "external_id": f"b3-{number:07d}",
            "first_name": first,
            "last_name": last,
            "locale": country.locale,
            "timezone": city.time_zone,
            "country": country.code,
            "city": city.name,
            "attributes": {
                "segment": rng.choice(people.SEGMENTS),
                "signup_channel": rng.choice(people.SIGNUP_CHANNELS),
                "lifetime_nights": rng.randint(0, 60),
            },
        }
        if tier := rng.choice(tiers):
            record["loyalty_tier"] = tier
        if rng.random() < 0.97:
            local = f"{people.ascii_name(first)}.{people.ascii_name(last)}{number}"
            domain = rng.choice(people.EMAIL_DOMAINS)
            record["email"] = f"{local}@{domain}".title() if rng.random() < 0.1 else f"{local}@{domain}"
        phone = ""
        if rng.random() < 0.9:
            digits = "".join(rng.choices("0123456789", k=city.phone_digits))
            phone = city.phone_prefix + digits
            national = people.national_form(country, city, digits)
            if rng.random() < 0.7:
                record["phone"] = national
            else:
                record["phone"] = f"+{country.dial} {national.removeprefix(city.trunk).lstrip('(')}".replace(")", "")
        e164.append(phone)
        street, house = rng.choice(country.streets), rng.randint(1, 250)
        record["address_line1"] = f"{house} {street}" if country.number_first else f"{street} {house}"
        record["postal_code"] = "".join(rng.choice("0123456789") if ch == "#" else ch for ch in city.postal)
        if city.region:
            record["region"] = city.region
        if rng.random() < 0.92:
            record["birth_date"] = f"{rng.randint(1945, 2006)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        records.append(record)
    return records, e164


def write_csv(records: list[dict], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        for record in records:
            attributes = record["attributes"]
            writer.writerow(
                [record.get(c, "") for c in CSV_COLUMNS[:-3]]
                + [attributes["segment"], attributes["signup_channel"], attributes["lifetime_nights"]]
            )


# -- the phases --------------------------------------------------------------------------------


def validate_only(records: list[dict]) -> tuple[int, list[str]]:
    """The floor: validate what the bar names, nothing else. Returns (invalid count, phones)."""
    from profiles import validation

    invalid, phones = 0, []
    email, phone, date = validation.email, validation.phone, validation.date
    for record in records:
        try:
            if "email" in record:
                email(record["email"])
            phones.append(phone(record["phone"], region=record["country"]) if "phone" in record else "")
            if "birth_date" in record:
                date(record["birth_date"])
        except ValueError:
            invalid += 1
    return invalid, phones


def empty_profiles() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE profiles_profile, profiles_historicalprofile RESTART IDENTITY CASCADE")
        cursor.execute("VACUUM ANALYZE profiles_profile")


def profile_count() -> int:
    from profiles.models import Profile

    return Profile.objects.count()


def run_import(path: Path, *options: str) -> str:
    from django.core.management import call_command

    out, err = io.StringIO(), io.StringIO()
    with contextlib.suppress(SystemExit):  # exit status 1 when a line was rejected: reported below
        call_command(
            "import_data",
            "profiles",
            str(path),
            "--batch-size",
            str(BATCH),
            "--no-progress",
            *options,
            stdout=out,
            stderr=err,
        )
    if err.getvalue():
        print(err.getvalue()[:2000])
    return out.getvalue().strip()


def api_client():
    from django.contrib.auth import get_user_model
    from django.test import Client
    from rest_framework.authtoken.models import Token

    user, _ = get_user_model().objects.get_or_create(
        username="bench-b3", defaults={"is_staff": True, "is_superuser": True, "email": "bench@example.com"}
    )
    token, _ = Token.objects.get_or_create(user=user)
    return Client(HTTP_AUTHORIZATION=f"Token {token.key}")


def run_api(client, bodies: list[bytes]) -> tuple[int, int, int]:
    """POST every body; returns (created, updated, rejected)."""
    created = updated = rejected = 0
    for body in bodies:
        response = client.post("/api/v1/profiles/bulk-upsert/", data=body, content_type="application/json")
        if response.status_code != 200:
            raise SystemExit(f"The API answered {response.status_code}: {response.content[:500]!r}")
        result = json.loads(response.content)
        created, updated, rejected = (
            created + result["created"],
            updated + result["updated"],
            rejected + len(result["errors"]),
        )
    return created, updated, rejected


def run_service(records: list[dict]) -> tuple[int, int, int]:
    from profiles.ingestion.upsert import entity_bulk_upsert

    created = updated = rejected = 0
    for start in range(0, len(records), BATCH):
        result = entity_bulk_upsert(entity="profiles", records=records[start : start + BATCH])
        created, updated, rejected = created + result.created, updated + result.updated, rejected + len(result.errors)
    return created, updated, rejected


def copy_rows(records: list[dict], phones: list[str]) -> list[tuple]:
    """The rows as stored (normalised values), ready for COPY: preparing them is not timed."""
    import datetime as dt

    from django.utils import timezone

    now = timezone.now()
    return [
        (
            r["external_id"],
            r.get("email", "").lower(),
            phone,
            r["first_name"],
            r["last_name"],
            r["locale"],
            r["timezone"],
            r["country"],
            r["city"],
            r["address_line1"],
            "",
            r["postal_code"],
            r.get("region", ""),
            dt.date.fromisoformat(r["birth_date"]) if "birth_date" in r else None,
            r.get("loyalty_tier", ""),
            json.dumps(r["attributes"]),
            now,
            now,
        )  # fmt: skip
        for r, phone in zip(records, phones, strict=True)
    ]


def run_copy(rows: list[tuple]) -> None:
    from django.db import connection, transaction

    statement = f"COPY profiles_profile ({', '.join(COPY_COLUMNS)}) FROM STDIN"
    with transaction.atomic(), connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


# -- driver ------------------------------------------------------------------------------------


def settle() -> None:
    """Keep the harness's own data out of the garbage collector's way: the 200,000 generated
    records live for the whole run, and without this every full collection triggered by the code
    under test would walk them (a real import never holds a whole file in memory)."""
    gc.collect()
    gc.freeze()


def guard_database(allow_truncate: bool) -> None:
    from profiles.models import Booking, Purchase

    if not allow_truncate and (Booking.objects.exists() or Purchase.objects.exists()):
        raise SystemExit(
            "This database holds bookings or purchases (the reference data set?) and B3 empties the profiles "
            "table, which cascades to them. Use another DATABASE_URL, or pass --allow-truncate."
        )


def profiled(label: str, enabled: bool, function: Callable, *args):
    if not enabled:
        return function(*args)
    profiler = cProfile.Profile()
    result = profiler.runcall(function, *args)
    stats = pstats.Stats(profiler)
    for order in ("tottime", "cumulative"):
        print(f"\n--- {label}: top functions by {order} ---")
        stats.sort_stats(order).print_stats(30)
    return result


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=200_000, help="Records to ingest (default 200,000).")
    parser.add_argument("--only", default=",".join(PHASES), help=f"Comma-separated phases (default all: {PHASES}).")
    parser.add_argument("--profile", choices=PHASES, help="Run this phase under cProfile and print the hot spots.")
    parser.add_argument("--allow-truncate", action="store_true", help="Empty the profiles table whatever it holds.")
    parser.add_argument("--no-record", action="store_true", help="Do not append the figures to bench/RESULTS.md.")
    args = parser.parse_args(argv)
    only = [phase.strip() for phase in args.only.split(",") if phase.strip()]
    if unknown := set(only) - set(PHASES):
        parser.error(f"unknown phase(s): {', '.join(sorted(unknown))}")
    if "api-again" in only and "api" not in only:
        parser.error("api-again needs api")

    database = setup(database="orchestrator_bench_b3")
    guard_database(args.allow_truncate)
    n = args.records
    print(f"B3 on {database}: generating {n:,} records...", flush=True)
    records, e164 = generate(n)
    settle()
    results: dict[str, tuple[float, str]] = {}  # phase -> (seconds, note)

    def measure(phase: str, function: Callable, *call_args, empty: bool = True, note: Callable = str):
        if phase not in only:
            return None
        if empty:
            empty_profiles()
        print(f"  {phase}...", end=" ", flush=True)
        with Timer() as timer:
            outcome = profiled(phase, args.profile == phase, function, *call_args)
        text = note(outcome)
        print(f"{timer.seconds:.1f} s, {n / timer.seconds:,.0f} records/s {text}", flush=True)
        if phase in results:  # the floor, measured twice: keep the faster
            timer.seconds = min(timer.seconds, results[phase][0])
        results[phase] = (timer.seconds, text)
        return outcome

    def floor_note(outcome):
        invalid, phones = outcome
        mismatched = sum(1 for got, want in zip(phones, e164, strict=True) if got != want)
        if invalid or mismatched:
            raise SystemExit(f"Generated records failed validation: {invalid} invalid, {mismatched} phones differ.")
        return "(all valid, phones as generated)"

    def rows_note(outcome=None):
        return f"({profile_count():,} rows)"

    def counts_note(outcome):
        created, updated, rejected = outcome
        return f"({created:,} created, {updated:,} updated, {rejected:,} rejected; {profile_count():,} rows)"

    measure("floor", validate_only, records, empty=False, note=floor_note)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "profiles.csv"
        write_csv(records, path)
        measure("import", run_import, path, note=lambda summary: f"({summary})")
        measure("import-1", run_import, path, "--jobs", "1", note=lambda summary: f"({summary})")
    if "api" in only:
        client = api_client()
        bodies = [json.dumps({"records": records[i : i + BATCH]}).encode() for i in range(0, n, BATCH)]
        settle()
        measure("api", run_api, client, bodies, note=counts_note)
        measure("api-again", run_api, client, bodies, empty=False, note=counts_note)
        del bodies
    measure("service", run_service, records, note=counts_note)
    if "copy" in only:
        rows = copy_rows(records, e164)
        measure("copy", run_copy, rows, note=rows_note)
    if "floor" in only and len(only) > 1:
        measure("floor", validate_only, records, empty=False, note=floor_note)
    empty_profiles()
    report(results, n, record=not args.no_record and args.profile is None)


def report(results: dict[str, tuple[float, str]], n: int, *, record: bool) -> None:
    from profiles.ingestion.parallel import default_jobs

    labels = {
        "floor": "validation floor (no database)",
        "import": f"import_data, CSV, batches of 1,000, --jobs {default_jobs()}",
        "import-1": "import_data, the same with --jobs 1",
        "api": "API bulk-upsert, 1,000 a request (creates)",
        "api-again": "API bulk-upsert again (all updates)",
        "service": "entity_bulk_upsert() alone (creates)",
        "copy": "plain COPY of the normalised rows",
    }
    floor = n / results["floor"][0] if "floor" in results else None
    rows = []
    for phase in PHASES:
        if phase in results:
            seconds = results[phase][0]
            rate = n / seconds
            rows.append((labels[phase], n, seconds, rate, rate / floor if floor else ""))
    table = print_table(f"B3 ingestion, {n:,} profiles", ["path", "records", "seconds", "records/s", "x floor"], rows)
    verdicts = []
    for phase, bar in BARS.items():
        if floor and phase in results:
            ratio = n / results[phase][0] / floor
            verdicts.append(
                f"- {phase} / floor = **{ratio:.2f}** (bar >= {bar}): **{'met' if ratio >= bar else 'MISSED'}**"
            )
    print("\n".join(verdicts))
    if record and verdicts:
        append_results(
            "B3 ingestion",
            f"`python -m bench.b3_ingestion --records {n}` (floor: the faster of two runs).\n\n{table}\n\n"
            + "\n".join(verdicts)
            + "\n",
        )


if __name__ == "__main__":
    main()
