"""B1, audience evaluation: the project's evaluation of five reference rules against the
equivalent hand-written SQL on the same tables, in the same run.

    python -m bench.b1_audiences [--rounds 5] [--only 1,3] [--explain] [--no-record]

What is timed, per rule:

  project       `audiences.services.audience_evaluate()` on an Audience saved once with
                `audience_save()`: what "Calculate", the API and the scheduled refresh run. The
                clock covers the whole service call: snapshot row, parsing, compiling, the
                `INSERT INTO audiences_populationmember SELECT ...`, the size update and the commit.
  hand-written  `INSERT ... SELECT` written by hand into a scratch table created
                `LIKE audiences_populationmember INCLUDING ALL` (population_id, object_id,
                profile_id, data; primary key on the first two), in its own transaction, commit
                included. Each form runs with the server's default work_mem and with
                AUDIENCE_EVALUATION_WORK_MEM (what evaluation sets for the rules that need more);
                rule 2 has two forms (EXISTS, and
                GROUP BY over the bookings alone). The fastest variant's median is the reference,
                so the ratio errs on the strict side.

Both sides use the same evaluation instant, so they select the same rows; every run checks that
they did (row count, sums of object and profile ids, and an XOR of their hashes). A warm-up round
(untimed) reads the tables into the cache first; then each round runs every rule on both sides,
alternating which side goes first, and the figure is the median of the rounds. After each run its
rows are deleted and both tables vacuumed, so every insert starts from the same state.

Bar: project / hand-written <= 1.3 for every rule. For a rule over the bar (or all of them with
--explain), the EXPLAIN (ANALYZE, BUFFERS) plans of the project's statement (captured as the
service sent it, run with the work_mem it ran with) and of the fastest hand-written one are printed
and recorded.

The audiences, snapshots, populations and member rows the run creates are deleted at the end, and
the scratch table dropped. It runs on the reference data set (`python -m bench.seed`).
"""

import argparse
import contextlib
import datetime as dt
import statistics
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.common import Timer, append_results, print_table, setup

BAR = 1.3
SCRATCH = "bench_b1_scratch"
MEMBERS = "audiences_populationmember"


@dataclass(frozen=True)
class Rule:
    key: str
    title: str
    dimension: str
    rule: dict
    # form name -> (scratch population id, now, today) -> (SQL, params): hand-written INSERT ... SELECTs.
    hand: dict[str, Callable[[int, dt.datetime, dt.date], tuple[str, list]]]


def _insert(select: str) -> str:
    return f"INSERT INTO {SCRATCH} (population_id, object_id, profile_id) {select}"


RULES = [
    Rule(
        "1",
        "attributes: country = PT and tier in (gold, platinum)",
        "profile",
        {"all": [{"field": "country", "op": "eq", "value": "PT"},
                 {"field": "loyalty_tier", "op": "in", "value": ["gold", "platinum"]}]},
        {"where": lambda pid, now, today: (
            _insert("SELECT %s, id, id FROM profiles_profile WHERE country = 'PT' AND loyalty_tier IN ('gold', 'platinum')"),
            [pid],
        )},
    ),
    Rule(
        "2",
        "has a confirmed booking, check-in in the next 30 days",
        "profile",
        {"has": "bookings", "where": {"all": [{"field": "status", "op": "eq", "value": "confirmed"},
                                              {"field": "check_in", "op": "in_next_days", "value": 30}]}},
        {
            "exists": lambda pid, now, today: (
                _insert(
                    "SELECT %s, p.id, p.id FROM profiles_profile p WHERE EXISTS (SELECT 1 FROM profiles_booking b "
                    "WHERE b.profile_id = p.id AND b.status = 'confirmed' AND b.check_in BETWEEN %s AND %s)"
                ),
                [pid, today, today + dt.timedelta(days=30)],
            ),
            # The foreign key guarantees the profile exists: the bookings alone give the same set.
            "group by": lambda pid, now, today: (
                _insert(
                    "SELECT %s, profile_id, profile_id FROM profiles_booking WHERE status = 'confirmed' "
                    "AND check_in BETWEEN %s AND %s GROUP BY profile_id"
                ),
                [pid, today, today + dt.timedelta(days=30)],
            ),
        },
    ),
    Rule(
        "3",
        "sum of purchases in the last 365 days >= 500",
        "profile",
        {"agg": "sum", "of": "purchases.amount", "where": {"field": "purchased_at", "op": "in_last_days", "value": 365},
         "op": "gte", "value": 500},
        {"group by": lambda pid, now, today: (
            _insert(
                "SELECT %s, profile_id, profile_id FROM profiles_purchase WHERE purchased_at BETWEEN %s AND %s "
                "GROUP BY profile_id HAVING sum(amount) >= 500"
            ),
            [pid, now - dt.timedelta(days=365), now],
        )},
    ),
    Rule(
        "4",
        "bookings: confirmed, check-in in the next 60 days, profile.country in (PT, ES)",
        "booking",
        {"all": [{"field": "status", "op": "eq", "value": "confirmed"},
                 {"field": "check_in", "op": "in_next_days", "value": 60},
                 {"field": "profile.country", "op": "in", "value": ["PT", "ES"]}]},
        {"join": lambda pid, now, today: (
            _insert(
                "SELECT %s, b.id, b.profile_id FROM profiles_booking b JOIN profiles_profile p ON p.id = b.profile_id "
                "WHERE b.status = 'confirmed' AND b.check_in BETWEEN %s AND %s AND p.country IN ('PT', 'ES')"
            ),
            [pid, today, today + dt.timedelta(days=60)],
        )},
    ),
    Rule(
        "5",
        "everyone",
        "profile",
        {"all": []},
        {"all rows": lambda pid, now, today: (_insert("SELECT %s, id, id FROM profiles_profile"), [pid])},
    ),
]  # fmt: skip


@dataclass(frozen=True)
class Variant:
    """One hand-written form run with the server's default work_mem (None) or the evaluation's."""

    form: str
    work_mem: str | None

    @property
    def label(self) -> str:
        return f"{self.form}, work_mem {self.work_mem or 'default'}"


@dataclass
class Outcome:
    rule: Rule
    rows: int = 0
    project: list[float] = field(default_factory=list)
    hands: dict[Variant, list[float]] = field(default_factory=dict)
    # The project's INSERT as sent to the database, and the work_mem its transaction ran with.
    statement: tuple[str, list, str] | None = None

    @property
    def project_s(self) -> float:
        return statistics.median(self.project)

    @property
    def best(self) -> Variant:
        """The reference: the hand-written variant with the lowest median."""
        return min(self.hands, key=lambda variant: statistics.median(self.hands[variant]))

    @property
    def hand(self) -> list[float]:
        return self.hands[self.best] if self.hands else []

    @property
    def hand_s(self) -> float:
        return statistics.median(self.hand)

    @property
    def ratio(self) -> float:
        return self.project_s / self.hand_s


class Harness:
    """Runs the rules both ways on the current database and cleans up after itself."""

    def __init__(self, rules: list[Rule]):
        from django.conf import settings
        from django.utils import timezone

        self.rules = rules
        self.now = timezone.now()
        self.today = timezone.localdate(self.now)
        self.work_mem = settings.AUDIENCE_EVALUATION_WORK_MEM
        self.tag = uuid.uuid4().hex[:8]
        self.audiences: dict[str, object] = {}
        self.populations: list[int] = []
        self.next_scratch_id = 0

    def variants(self, rule: Rule) -> list[Variant]:
        settings = [None, self.work_mem] if self.work_mem else [None]
        return [Variant(form, work_mem) for form in rule.hand for work_mem in settings]

    # -- setup and cleanup ----------------------------------------------------------------------

    def __enter__(self) -> "Harness":
        from django.db import connection

        from audiences.models import Audience
        from audiences.services import audience_save

        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {SCRATCH}")
            cursor.execute(f"CREATE TABLE {SCRATCH} (LIKE {MEMBERS} INCLUDING ALL)")
        for rule in self.rules:
            audience = Audience(
                name=f"B1 rule {rule.key} ({self.tag})",
                slug=f"bench-b1-{self.tag}-{rule.key}",
                dimension=rule.dimension,
                kind=Audience.Kind.RULE,
                rule=rule.rule,
            )
            self.audiences[rule.key] = audience_save(audience=audience)
        return self

    def __exit__(self, *exc) -> None:
        self.cleanup()

    def cleanup(self) -> None:
        from django.db import connection, transaction

        from audiences.models import Audience, AudienceSnapshot, Population, PopulationMember

        ids = [a.pk for a in self.audiences.values()]
        with transaction.atomic():
            snapshots = AudienceSnapshot.objects.filter(audience_id__in=ids)
            self.populations += [p for p in snapshots.values_list("population_id", flat=True) if p]
            Audience.objects.filter(pk__in=ids).update(latest_snapshot=None)
            snapshots.delete()
            Audience.objects.filter(pk__in=ids).delete()
            Audience.history.filter(id__in=ids).delete()  # after the delete, which records one more
            PopulationMember.objects.filter(population_id__in=self.populations).delete()
            Population.objects.filter(pk__in=self.populations).delete()
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {SCRATCH}")
            cursor.execute(f"VACUUM {MEMBERS}")
        self.audiences.clear()

    # -- one run each way ------------------------------------------------------------------------

    def run_project(self, rule: Rule, capture: bool = False) -> tuple[float, tuple, tuple[str, list, str] | None]:
        from django.db import connection

        from audiences.services import audience_evaluate

        audience = self.audiences[rule.key]
        captured: list[tuple[str, list, str]] = []

        def catch(execute, sql, params, many, context):
            if sql.lstrip().upper().startswith(f'INSERT INTO "{MEMBERS.upper()}"'):
                # The session setting the evaluation chose (psycopg directly: no Django wrapper).
                work_mem = context["connection"].connection.execute("SHOW work_mem").fetchone()[0]
                captured.append((sql, list(params or ()), work_mem))
            return execute(sql, params, many, context)

        with connection.execute_wrapper(catch) if capture else contextlib.nullcontext(), Timer() as timer:
            snapshot = audience_evaluate(audience=audience, trigger="bench", now=self.now)
        population = snapshot.population_id
        self.populations.append(population)
        digest = self.digest(MEMBERS, population)
        if digest[0] != snapshot.size:
            raise AssertionError(f"rule {rule.key}: snapshot says {snapshot.size} rows, the table holds {digest[0]}")
        self.discard(MEMBERS, population)
        return timer.seconds, digest, captured[0] if captured else None

    def hand_statement(self, rule: Rule, form: str, population: int) -> tuple[str, list]:
        return rule.hand[form](population, self.now, self.today)

    def run_hand(self, rule: Rule, variant: Variant) -> tuple[float, tuple]:
        from django.db import connection, transaction

        self.next_scratch_id += 1
        population = self.next_scratch_id
        sql, params = self.hand_statement(rule, variant.form, population)
        with Timer() as timer, transaction.atomic(), connection.cursor() as cursor:
            if variant.work_mem:
                cursor.execute("SELECT set_config('work_mem', %s, true)", [variant.work_mem])
            cursor.execute(sql, params)
        digest = self.digest(SCRATCH, population)
        self.discard(SCRATCH, population)
        return timer.seconds, digest

    @staticmethod
    def digest(table: str, population: int) -> tuple:
        """Row count, sums and an order-independent hash of (object_id, profile_id): the same set
        gives the same digest."""
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT count(*), coalesce(sum(object_id), 0), coalesce(sum(profile_id), 0), "
                f"coalesce(bit_xor(hashint8extended(object_id, coalesce(profile_id, 0))), 0) "
                f"FROM {table} WHERE population_id = %s",
                [population],
            )
            return tuple(cursor.fetchone())

    @staticmethod
    def discard(table: str, population: int) -> None:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE population_id = %s", [population])
            cursor.execute(f"VACUUM {table}")

    # -- the measurement ------------------------------------------------------------------------

    def measure(self, rounds: int, *, hand: bool = True, log: Callable[[str], None] = print) -> list[Outcome]:
        """A warm-up round, then `rounds` timed rounds; in each, every rule runs through the project
        and every hand-written variant, the project first in one round and last in the next."""
        outcomes = {rule.key: Outcome(rule) for rule in self.rules}

        def one(rule: Rule, round_no: int, timed: bool) -> None:
            outcome = outcomes[rule.key]
            sides: list[Variant | None] = [None, *(self.variants(rule) if hand else [])]
            if (round_no + int(rule.key)) % 2:
                sides.reverse()
            results, digests = [], {}
            project_digest = ()
            for side in sides:
                if side is None:
                    seconds, digest, statement = self.run_project(rule, capture=not timed)
                    outcome.statement = statement or outcome.statement
                    project_digest = digest
                    if timed:
                        outcome.project.append(seconds)
                    results.append(f"project {seconds:6.3f}")
                else:
                    seconds, digest = self.run_hand(rule, side)
                    digests[side] = digest
                    if timed:
                        outcome.hands.setdefault(side, []).append(seconds)
                    results.append(f"{side.label} {seconds:6.3f}")
            for side, digest in digests.items():
                if digest != project_digest:
                    raise AssertionError(
                        f"rule {rule.key}: the project and the hand-written SQL ({side.label}) selected different "
                        f"rows: project {project_digest}, hand-written {digest}"
                    )
            outcome.rows = project_digest[0]
            label = f"round {round_no}" if timed else "warm-up"
            log(f"  {label:8} rule {rule.key}: {outcome.rows:>9,} rows; s: {'; '.join(results)}")

        for rule in self.rules:
            one(rule, 0, timed=False)
        for round_no in range(1, rounds + 1):
            for rule in self.rules:
                one(rule, round_no, timed=True)
        return list(outcomes.values())

    # -- plans -----------------------------------------------------------------------------------

    def explain(self, sql: str, params: list, work_mem: str | None) -> str:
        """EXPLAIN (ANALYZE, BUFFERS) of an INSERT, rolled back."""
        from django.db import connection, transaction

        with transaction.atomic(), connection.cursor() as cursor:
            if work_mem:
                cursor.execute("SELECT set_config('work_mem', %s, true)", [work_mem])
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            transaction.set_rollback(True)
        return plan

    def plans(self, outcome: Outcome) -> tuple[str, str, str]:
        """The project's statement (as captured, with the work_mem it ran with), that work_mem, and
        the reference's plan."""
        self.next_scratch_id += 1
        if outcome.statement:
            sql, params, work_mem = outcome.statement
            project = self.explain(sql, params, work_mem)
        else:
            project, work_mem = "(statement not captured)", "?"
        best = outcome.best
        hand = self.explain(*self.hand_statement(outcome.rule, best.form, self.next_scratch_id), best.work_mem)
        return project, work_mem, hand


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="Timed rounds; the median counts (default 5).")
    parser.add_argument("--only", help="Comma-separated rule numbers (default all: 1,2,3,4,5).")
    parser.add_argument(
        "--explain", action="store_true", help="Print the plans of every rule, not only those over the bar."
    )
    parser.add_argument("--no-record", action="store_true", help="Do not append the figures to bench/RESULTS.md.")
    args = parser.parse_args(argv)
    rules = RULES
    if args.only:
        keys = {key.strip() for key in args.only.split(",") if key.strip()}
        if unknown := keys - {rule.key for rule in RULES}:
            parser.error(f"unknown rule(s): {', '.join(sorted(unknown))}")
        rules = [rule for rule in RULES if rule.key in keys]
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")

    database = setup()
    from profiles.models import Profile

    profiles = Profile.objects.count()
    if not profiles:
        raise SystemExit(f"{database} holds no profiles: load the reference data set first (python -m bench.seed).")
    print(f"B1 on {database} ({profiles:,} profiles): {len(rules)} rules, 1 warm-up + {args.rounds} timed rounds.")
    with Harness(rules) as harness:
        print(
            f"Evaluation instant {harness.now:%Y-%m-%d %H:%M:%S %Z}; each hand-written form runs with the server's "
            f"default work_mem and with AUDIENCE_EVALUATION_WORK_MEM ({harness.work_mem or 'not set'})."
        )
        outcomes = harness.measure(args.rounds)
        over = [o for o in outcomes if o.ratio > BAR]
        plans = {o.rule.key: (o.best, *harness.plans(o)) for o in outcomes if args.explain or o in over}

    table = print_table(
        "B1: audience evaluation, project vs hand-written SQL (median of the rounds)",
        ["rule", "dimension", "rows", "project ms", "its work_mem", "hand-written ms", "fastest hand-written", "ratio",
         f"bar <= {BAR}"],
        [
            (f"{o.rule.key}. {o.rule.title}", o.rule.dimension, o.rows, round(o.project_s * 1000),
             o.statement[2] if o.statement else "?", round(o.hand_s * 1000), o.best.label, round(o.ratio, 2),
             "met" if o.ratio <= BAR else "MISSED")
            for o in outcomes
        ],
    )  # fmt: skip
    runs = "\n".join(
        f"- rule {o.rule.key}: project {_seconds(o.project)}"
        + "".join(f"; {variant.label} {_seconds(times)}" for variant, times in o.hands.items())
        for o in outcomes
    )
    print(f"Runs (s):\n{runs}\n")
    plan_text = ""
    for key, (best, project, work_mem, hand) in plans.items():
        block = (
            f"Rule {key}, the project's statement (work_mem {work_mem}):\n\n```\n{project}\n```\n\n"
            f"Rule {key}, hand-written ({best.label}):\n\n```\n{hand}\n```\n"
        )
        print(block)
        plan_text += "\n" + block
    verdict = "\n".join(
        f"- rule {o.rule.key}: ratio **{o.ratio:.2f}** (bar <= {BAR}): **{'met' if o.ratio <= BAR else 'MISSED'}**"
        for o in outcomes
    )
    print(verdict)
    if not args.no_record:
        append_results(
            "B1 audience evaluation",
            f"`python -m bench.b1_audiences --rounds {args.rounds}` on {profiles:,} profiles. Project: "
            f"`audience_evaluate()` on a saved audience (the whole service call, commit included; its work_mem is the "
            f"setting its statement ran with). Hand-written: `INSERT ... SELECT` into a scratch table shaped like the "
            f"population rows, commit included, each form with the server's default work_mem and with "
            f"AUDIENCE_EVALUATION_WORK_MEM ({harness.work_mem or 'not set'}); the fastest "
            f"median is the reference. Median of {args.rounds} rounds after a warm-up, the project first in "
            f"one round and last in the next; every run checked to select the same rows (count, sums, hash).\n\n"
            f"{table}\n\nRuns (s):\n\n{runs}\n\n{verdict}\n{plan_text}",
        )


def _seconds(times: list[float]) -> str:
    return ", ".join(f"{s:.3f}" for s in times)


if __name__ == "__main__":
    main()
