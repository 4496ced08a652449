"""Fuzz the REST API with Schemathesis against its own OpenAPI schema (`/api/schema/`).

    python -m fuzz.run_api [--max-time 240] [--max-examples 50] [--seed N] [-- <schemathesis options>]

What one run does, on a throwaway PostgreSQL database that it creates itself (and drops at the
end; it refuses to touch a database that already exists):

1. create the database, migrate, collect static files, seed a small demo (`seed_demo`), create a
   superuser with a DRF token;
2. start gunicorn on a free loopback port in the production configuration (DEBUG=false, a random
   SECRET_KEY, ALLOWED_HOSTS=127.0.0.1; only the SSL redirect is off so that plain HTTP works) and
   wait for `/healthz?checks=database`;
3. run `schemathesis run` with the token, bounded by a total time budget, checking: no 5xx, response
   bodies, status codes and content types as the schema declares them;
4. after Schemathesis' own report (each failure with a curl line that reproduces it), list the
   5xx the server logged, grouped by exception and place in our code, with a traceback of each.

Exits with Schemathesis' exit code: non-zero on any failure. The PostgreSQL server is named by
PG_ADMIN_URL (a URL of a database to connect to for CREATE/DROP DATABASE, default the local
`postgres` database as user postgres); the fuzz database lives on the same server.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from xml.etree import ElementTree

import psycopg
from psycopg import sql

from fuzz.server_log import report_server_errors, server_errors

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"
# Throttling is not under test here: a fuzz run makes thousands of requests a minute.
UNTHROTTLED = "1000000/minute"
JUNIT_FILE = "junit.xml"
DB_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class Options:
    admin_url: str
    db_name: str
    max_time: int
    max_examples: int
    workers: str
    seed: int | None
    profiles: int
    report_dir: Path
    extra: list[str]


def parse_args(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--admin-url", default=os.environ.get("PG_ADMIN_URL", DEFAULT_ADMIN_URL), help="PostgreSQL URL for CREATE/DROP."
    )
    parser.add_argument(
        "--db-name",
        default=f"fuzz_api_{os.getpid()}_{secrets.token_hex(3)}",
        help="Name of the database to create (it must not exist yet).",
    )
    parser.add_argument(
        "--max-time", type=int, default=int(os.environ.get("FUZZ_MAX_TIME", 240)), help="Schemathesis budget, seconds."
    )
    parser.add_argument(
        "--max-examples",
        type=int,
        default=int(os.environ.get("FUZZ_MAX_EXAMPLES", 50)),
        help="Test cases per operation and phase.",
    )
    parser.add_argument(
        "--workers", default=os.environ.get("FUZZ_WORKERS", "4"), help="Concurrent Schemathesis workers."
    )
    parser.add_argument("--seed", type=int, default=None, help="Random seed, to replay a run.")
    parser.add_argument("--profiles", type=int, default=200, help="Demo profiles to seed.")
    parser.add_argument("--report-dir", type=Path, default=ROOT / "var" / "fuzz", help="Where reports and logs go.")
    parser.add_argument("extra", nargs="*", help="After --: more `schemathesis run` options.")
    args = parser.parse_args(argv)
    if not DB_NAME.match(args.db_name):
        parser.error(f"--db-name {args.db_name!r}: use lowercase letters, digits and _ (at most 63).")
    if args.max_time < 1 or args.max_examples < 1:
        parser.error("--max-time and --max-examples must be at least 1.")
    return Options(
        admin_url=args.admin_url,
        db_name=args.db_name,
        max_time=args.max_time,
        max_examples=args.max_examples,
        workers=args.workers,
        seed=args.seed,
        profiles=args.profiles,
        report_dir=args.report_dir.resolve(),
        extra=args.extra,
    )


# -- the throwaway database -----------------------------------------------------------------


@contextlib.contextmanager
def throwaway_database(admin_url: str, name: str) -> Iterator[str]:
    """Create database `name`, yield its URL, drop it. An existing database is refused, never used."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists:
            raise SystemExit(f"Database {name!r} exists already: the fuzz run only uses a database it creates.")
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _with_database(admin_url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        print(f"== dropped database {name}", flush=True)


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


# -- the application ------------------------------------------------------------------------


def app_environment(database_url: str, var_dir: Path) -> dict[str, str]:
    """The production configuration (DEBUG=false), on plain HTTP and without throttling."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        VAR_DIR=str(var_dir),
        MEDIA_ROOT=str(var_dir / "media"),
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        API_THROTTLE_USER=UNTHROTTLED,
        API_THROTTLE_ANON=UNTHROTTLED,
        LOG_LEVEL="WARNING",
    )
    return env


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout


CREATE_API_USER = """
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
user = get_user_model().objects.create_superuser(username="fuzz", email="fuzz@example.com", password=None)
print(Token.objects.create(user=user).key)
"""


def prepare_application(env: dict[str, str], profiles: int) -> str:
    """Migrate, collect static files, seed the demo; answer a superuser's API token."""
    print("== migrate, collectstatic, seed_demo", flush=True)
    manage(env, "migrate", "--noinput")
    manage(env, "collectstatic", "--noinput")
    print(manage(env, "seed_demo", "--profiles", str(profiles), "--no-progress").strip(), flush=True)
    return manage(env, "shell", "-c", CREATE_API_USER).strip().splitlines()[-1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(env: dict[str, str], port: int, log_path: Path) -> Iterator[str]:
    """Serve config.wsgi on 127.0.0.1:port; yield the base URL; stop the server."""
    command = [
        str(BIN / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "3", "--threads", "2",
        "--timeout", "60", "--graceful-timeout", "5", "--error-logfile", "-",
        # The fuzzer tests the application, not gunicorn's request-line limit (a 414 in HTML).
        "--limit-request-line", "0",
    ]  # fmt: skip
    with log_path.open("w") as log:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        try:
            base = f"http://127.0.0.1:{port}"
            wait_healthy(base, server)
            yield base
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def wait_healthy(base: str, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode} before answering /healthz.")
        with (
            contextlib.suppress(urllib.error.URLError, OSError),
            urllib.request.urlopen(f"{base}/healthz?checks=database", timeout=2) as answer,  # noqa: S310 - loopback
        ):
            if answer.status == 200:
                return
        time.sleep(0.3)
    raise SystemExit(f"{base}/healthz?checks=database did not answer 200 within {timeout:.0f}s.")


# Audiences the fuzzer finds ready (it seldom writes a valid rule itself): ids 1 and 2, each
# with a snapshot, so members/, distribution/ and snapshots/ are reached beyond their 404s.
SEED_AUDIENCES = [
    (
        {"name": "Fuzz: Portugal", "slug": "fuzz-pt", "kind": "rule", "dimension": "profile",
         "rule": {"any": [{"field": "country", "op": "eq", "value": "PT"}, {"has": "bookings"}]}},
        "evaluate/", None,
    ),
    (
        {"name": "Fuzz: a list", "slug": "fuzz-list", "kind": "list", "dimension": "profile"},
        "members/", {"external_ids": ["cust-0000001", "cust-0000002", "nobody"]},
    ),
]  # fmt: skip


def seed_audiences(base: str, token: str) -> None:
    for audience, step, body in SEED_AUDIENCES:
        created = api_post(base, token, "/api/v1/audiences/", audience)
        api_post(base, token, f"/api/v1/audiences/{created['id']}/{step}", body)
    print(f"== seeded {len(SEED_AUDIENCES)} audiences through the API", flush=True)


def api_post(base: str, token: str, path: str, body: dict | None) -> dict:
    request = urllib.request.Request(  # noqa: S310 - loopback
        f"{base}{path}",
        data=json.dumps(body or {}).encode(),
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - loopback
            return json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        raise SystemExit(f"Seeding: POST {path} answered {exc.code}: {exc.read()[:500]!r}") from None


# -- schemathesis ---------------------------------------------------------------------------


def schemathesis_command(options: Options, base: str, token: str) -> list[str]:
    command = [
        str(BIN / "schemathesis"), "--no-color", "run", f"{base}/api/schema/?format=json",
        "--header", f"Authorization: Token {token}",
        "--checks", CHECKS,
        "--max-time", str(options.max_time),
        "--max-examples", str(options.max_examples),
        "--workers", options.workers,
        "--request-timeout", "30",
        "--generation-database", "none",
        "--suppress-health-check", "too_slow,filter_too_much",
        "--report", "junit",
        "--report-dir", str(options.report_dir),
        "--report-junit-path", str(options.report_dir / JUNIT_FILE),
        "--output-truncate", "false",
    ]  # fmt: skip
    if options.seed is not None:
        command += ["--seed", str(options.seed)]
    return command + options.extra


def main(argv: list[str]) -> int:
    options = parse_args(argv)
    options.report_dir.mkdir(parents=True, exist_ok=True)
    (options.report_dir / JUNIT_FILE).unlink(missing_ok=True)  # never tally an earlier run's report
    log_path = options.report_dir / "server.log"
    started = time.monotonic()
    var_dir = Path(tempfile.mkdtemp(prefix="fuzz-api-"))
    try:
        print(f"== database {options.db_name}", flush=True)
        with throwaway_database(options.admin_url, options.db_name) as database_url:
            env = app_environment(database_url, var_dir)
            token = prepare_application(env, options.profiles)
            with gunicorn(env, free_port(), log_path) as base:
                seed_audiences(base, token)
                print(f"== schemathesis against {base}/api/schema/ (budget {options.max_time}s)", flush=True)
                code = run_schemathesis(schemathesis_command(options, base, token), options.report_dir)
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)
    report_server_errors(server_errors(log_path))
    print(
        f"\n== fuzz run finished in {time.monotonic() - started:.0f}s, exit {code}; reports and the server log in "
        f"{options.report_dir}. In the curl lines above, 'Authorization: [Filtered]' stands for "
        "'Authorization: Token <key>' (any superuser's token on a database with the demo seeded)."
    )
    passed, failed = tally(options.report_dir / JUNIT_FILE)
    print(f"fuzz-api: {passed} passed, {max(failed, 1 if code else 0)} failed")  # one test per operation
    return code


def tally(junit: Path) -> tuple[int, int]:
    """(passed, failed) operations in Schemathesis' JUnit report (stateful tests count as one)."""
    if not junit.exists():
        return 0, 0
    suites = ElementTree.parse(junit).getroot()  # noqa: S314 - the file Schemathesis just wrote
    failed = int(suites.get("failures", 0)) + int(suites.get("errors", 0))
    return int(suites.get("tests", 0)) - failed - int(suites.get("skipped", 0)), failed


def run_schemathesis(command: list[str], report_dir: Path) -> int:
    """Run in report_dir, where Schemathesis keeps its cache (.schemathesis/), with our hooks."""
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(Path(__file__).with_name("schemathesis_hooks.py"))}
    return subprocess.run(command, cwd=report_dir, env=env, check=False).returncode  # noqa: S603


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
