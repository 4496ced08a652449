"""Helpers shared by the benchmarks: Django on a PostgreSQL bench database, timing, reporting.

`setup()` must run before anything imports models. It points Django at DATABASE_URL (default: a
local `orchestrator_bench` database), creates that database if missing, migrates it, and runs the
project with its production settings (DEBUG off), since that is what the figures are about.
"""

import datetime as dt
import os
import platform
import secrets
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "RESULTS.md"
DEFAULT_HOST_URL = "postgres://postgres@127.0.0.1:5432"
DEFAULT_DATABASE = "orchestrator_bench"


def setup(*, database: str = DEFAULT_DATABASE, migrate: bool = True) -> str:
    """Configure and start Django on the bench database; returns the database name.

    DATABASE_URL wins when set; otherwise `database` on the local server is used.
    """
    sys.path.insert(0, str(BENCH_DIR.parent))
    os.environ.setdefault("DATABASE_URL", f"{DEFAULT_HOST_URL}/{database}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # Production settings: no query log, no debug pages. The in-process test client talks plain
    # HTTP to "testserver", so the HTTPS redirect is off and that host is allowed.
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # WhiteNoise warns once that collectstatic has not been run; the benchmarks serve no files.
    warnings.filterwarnings("ignore", message="No directory at: ")

    import dj_database_url

    config = dj_database_url.parse(os.environ["DATABASE_URL"])
    if config["ENGINE"] != "django.db.backends.postgresql":
        raise SystemExit("The benchmarks run on PostgreSQL: set DATABASE_URL=postgres://...")
    _create_database_if_missing(config)

    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
    return config["NAME"]


def _create_database_if_missing(config: dict) -> None:
    import psycopg
    from psycopg import sql

    params = {
        "dbname": "postgres",
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
    }
    with psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"])))
            print(f"Created database {config['NAME']}.")


class Timer:
    """`with Timer() as t: ...` then `t.seconds`."""

    def __enter__(self) -> "Timer":
        self.started = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.started


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table (readable as plain text too); numbers right-aligned."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max(len(str(h)), *(len(row[i]) for row in cells)) for i, h in enumerate(headers)]
    numeric = [
        any(_is_number(row[i]) for row in rows) and all(_is_number(row[i]) or row[i] == "" for row in rows)
        for i in range(len(headers))
    ]

    def line(values):
        return (
            "| "
            + " | ".join(v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, numeric, strict=True))
            + " |"
        )

    rule = (
        "|"
        + "|".join(("-" * (w + 1) + ":") if n else ("-" * (w + 2)) for w, n in zip(widths, numeric, strict=True))
        + "|"
    )
    return "\n".join([line([str(h) for h in headers]), rule, *(line(row) for row in cells)])


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    table = format_table(headers, rows)
    print(f"\n{title}\n\n{table}\n", flush=True)
    return table


def machine() -> str:
    """One line describing where the figures were measured (no host names)."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            names = [line.split(":", 1)[1].strip() for line in info if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    memory = ""
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        memory = f", {pages * size / 2**30:.0f} GB RAM"
    except (ValueError, OSError):
        pass
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0].split()[0]
    import django

    return (
        f"{os.cpu_count()} cores ({cpu}){memory}; PostgreSQL {server}; "
        f"Python {platform.python_version()}; Django {django.get_version()}"
    )


def append_results(title: str, body: str) -> None:
    """Append a dated section to bench/RESULTS.md."""
    stamp = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    new = not RESULTS.exists()
    with RESULTS.open("a", encoding="utf-8") as out:
        if new:
            out.write("# Benchmark results\n\nOne section per run, newest last. See bench/README.md.\n")
        out.write(f"\n## {title}: {stamp}\n\nMachine: {machine()}.\n\n{body.strip()}\n")
    print(f"Appended to {RESULTS.relative_to(BENCH_DIR.parent)}.")
