"""B4, how evaluation cost grows: the five B1 rules at 250,000 / 1,000,000 / 4,000,000 profiles,
and a worker's peak memory while it evaluates the everyone rule.

    python -m bench.b4_growth [--scales 250k,1m,4m] [--rounds 3] [--seed] [--no-hand] [--no-record]

Each scale lives in its own database, `orchestrator_b4_250k`, `orchestrator_b4_1m` and
`orchestrator_b4_4m` on the server of DATABASE_URL (default the local one), seeded by
`python -m bench.seed --profiles N` (every other table scales with it: 3 bookings and 5 purchases
per profile...). A scale whose database is missing or holds another number of profiles is skipped
with a note, unless --seed is given: then it is seeded first, if the disk has room for it (about
3.3 GB per million profiles, indexes included; the 4M load takes several minutes).

Per scale, a child process runs B1's harness on that database (bench/b1_audiences.py): a warm-up
round, then `--rounds` rounds of every rule through `audience_evaluate()` and, alternating with it,
the hand-written SQL (for context: it shows how much of the growth is the data's own). Figures are
medians. Bar: project time at 4M / at 1M <= 4.4 for every rule.

Memory: another child process per scale saves the everyone audience, then runs the django-q task a
worker runs (`audiences.tasks.evaluate_audience`) and reports the process's peak resident set
(`resource.getrusage(RUSAGE_SELF).ru_maxrss`) before and after. Bar: under 300 MB at 1M members,
and no growth with the audience's size (members are written by the database, never loaded).
Everything the children create is deleted when they finish.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys

from bench.common import DEFAULT_HOST_URL, Timer, append_results, print_table, setup

SCALES = {"250k": 250_000, "1m": 1_000_000, "4m": 4_000_000}
PREFIX = "orchestrator_b4"
GROWTH_BAR = 4.4
MEMORY_BAR_MB = 300
GB_PER_MILLION = 3.3  # the reference set takes 3.1 GB with its indexes
MARKER = "B4-JSON "


def host_url() -> str:
    url = os.environ.get("DATABASE_URL")
    return url.rsplit("/", 1)[0] if url else DEFAULT_HOST_URL


def database_url(label: str) -> str:
    return f"{host_url()}/{PREFIX}_{label}"


def profile_count(label: str) -> int | None:
    """Profiles in the scale's database; None when the database or its tables are missing."""
    import psycopg

    try:
        with psycopg.connect(database_url(label), connect_timeout=5) as conn:
            return conn.execute("SELECT count(*) FROM profiles_profile").fetchone()[0]
    except psycopg.Error:
        return None


def free_gb() -> tuple[float, str]:
    """Free space where PostgreSQL keeps its data (the root file system if that is not readable here)."""
    import psycopg

    path = "/"
    try:
        with psycopg.connect(f"{host_url()}/postgres", connect_timeout=5) as conn:
            directory = conn.execute("SHOW data_directory").fetchone()[0]
        if os.path.isdir(directory):
            path = directory
    except psycopg.Error:
        pass
    return shutil.disk_usage(path).free / 2**30, path


def seed(label: str, profiles: int) -> tuple[float | None, str]:
    """Seed the scale's database; returns (seconds, note). Refuses when the disk is short."""
    needed = GB_PER_MILLION * profiles / 1_000_000 * 1.25 + 2
    free, _ = free_gb()
    if free < needed:
        return None, f"not seeded: {free:.0f} GB free, about {needed:.0f} GB needed"
    print(f"Seeding {PREFIX}_{label} with {profiles:,} profiles ({free:.0f} GB free)...", flush=True)
    env = {**os.environ, "DATABASE_URL": database_url(label)}
    with Timer() as timer:
        done = subprocess.run(
            [sys.executable, "-m", "bench.seed", "--profiles", str(profiles), "--no-record"], env=env, check=False
        )
    if done.returncode:
        return None, f"seeding failed (exit {done.returncode})"
    return timer.seconds, f"seeded in {timer.seconds:.0f} s"


def child(label: str, *args: str) -> dict:
    """Run this module in a child process on the scale's database; its last marked line is the result."""
    env = {**os.environ, "DATABASE_URL": database_url(label)}
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.b4_growth", *args], env=env, stdout=subprocess.PIPE, text=True
    )
    result = None
    for line in process.stdout:
        if line.startswith(MARKER):
            result = json.loads(line[len(MARKER) :])
        else:
            print(f"[{label}] {line}", end="", flush=True)
    if process.wait() or result is None:
        raise SystemExit(f"The {label} child failed (exit {process.returncode}).")
    return result


# -- children -------------------------------------------------------------------------------------


def worker_times(rounds: int, hand: bool) -> None:
    from bench.b1_audiences import RULES, Harness

    setup()
    with Harness(RULES) as harness:
        outcomes = harness.measure(rounds, hand=hand)
    print(
        MARKER
        + json.dumps(
            {
                o.rule.key: {
                    "rows": o.rows,
                    "project": o.project_s,
                    "hand": o.hand_s if o.hand else None,
                    "project_runs": o.project,
                    "hand_runs": o.hand,
                }
                for o in outcomes
            }
        ),
        flush=True,
    )


def worker_memory() -> None:
    import resource

    from bench.b1_audiences import RULES, Harness

    setup()
    everyone = next(rule for rule in RULES if rule.rule == {"all": []})
    with Harness([everyone]) as harness:
        from audiences.models import Audience
        from audiences.tasks import evaluate_audience

        audience = harness.audiences[everyone.key]
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with Timer() as timer:
            evaluate_audience(audience.pk, trigger="bench")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        rows = Audience.objects.select_related("latest_snapshot").get(pk=audience.pk).latest_snapshot.size
    print(
        MARKER
        + json.dumps({"rows": rows, "before_mb": before / 1024, "peak_mb": peak / 1024, "seconds": timer.seconds}),
        flush=True,
    )


# -- the driver -----------------------------------------------------------------------------------


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default=",".join(SCALES), help="Comma-separated scales (default 250k,1m,4m).")
    parser.add_argument("--rounds", type=int, default=3, help="Timed rounds per scale; the median counts (default 3).")
    parser.add_argument("--seed", action="store_true", help="Seed the scales whose database is missing or differs.")
    parser.add_argument("--no-hand", action="store_true", help="Time the project only (no hand-written SQL).")
    parser.add_argument("--no-record", action="store_true", help="Do not append the figures to bench/RESULTS.md.")
    parser.add_argument("--worker", choices=("times", "memory"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker == "times":
        return worker_times(args.rounds, hand=not args.no_hand)
    if args.worker == "memory":
        return worker_memory()
    labels = [label.strip() for label in args.scales.split(",") if label.strip()]
    if unknown := set(labels) - set(SCALES):
        parser.error(f"unknown scale(s): {', '.join(sorted(unknown))} (known: {', '.join(SCALES)})")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")

    notes: dict[str, str] = {}
    ready = []
    for label in labels:
        count = profile_count(label)
        if count != SCALES[label] and args.seed:
            seconds, notes[label] = seed(label, SCALES[label])
            count = profile_count(label)
        if count == SCALES[label]:
            ready.append(label)
        else:
            notes.setdefault(
                label,
                f"skipped: {PREFIX}_{label} holds {'no profiles table' if count is None else f'{count:,} profiles'} "
                f"(seed it with `DATABASE_URL=.../{PREFIX}_{label} python -m bench.seed --profiles {SCALES[label]}`, "
                f"or pass --seed)",
            )
    for label, note in notes.items():
        print(f"{label}: {note}")
    if not ready:
        raise SystemExit("No scale is ready.")

    times, memory = {}, {}
    extra = (["--no-hand"] if args.no_hand else []) + ["--rounds", str(args.rounds)]
    for label in ready:
        print(f"\n{label}: timing the rules ({args.rounds} rounds after a warm-up)...", flush=True)
        times[label] = child(label, "--worker", "times", *extra)
    for label in ready:
        print(f"\n{label}: a worker's memory while evaluating everyone...", flush=True)
        memory[label] = child(label, "--worker", "memory")

    from bench.b1_audiences import RULES

    rules = {rule.key: rule for rule in RULES}
    headers = ["rule"] + [f"rows {label}" for label in ready] + [f"project ms {label}" for label in ready]
    growth = "4m" in times and "1m" in times
    if growth:
        headers += ["4M/1M project", f"bar <= {GROWTH_BAR}"]
        if not args.no_hand:
            headers += ["hand ms 1m", "hand ms 4m", "4M/1M hand"]
    rows, verdicts = [], []
    for key, rule in rules.items():
        row = [f"{key}. {rule.title}"]
        row += [times[label][key]["rows"] for label in ready]
        row += [round(times[label][key]["project"] * 1000) for label in ready]
        if growth:
            ratio = times["4m"][key]["project"] / times["1m"][key]["project"]
            met = ratio <= GROWTH_BAR
            row += [round(ratio, 2), "met" if met else "MISSED"]
            verdicts.append(
                f"- rule {key}: 4M/1M = **{ratio:.2f}** (bar <= {GROWTH_BAR}): **{'met' if met else 'MISSED'}**"
            )
            if not args.no_hand:
                hand_1m, hand_4m = times["1m"][key]["hand"], times["4m"][key]["hand"]
                row += [round(hand_1m * 1000), round(hand_4m * 1000), round(hand_4m / hand_1m, 2)]
        rows.append(row)
    table = print_table("B4: evaluation time by scale (median of the rounds)", headers, rows)

    memory_rows = [
        (label, memory[label]["rows"], round(memory[label]["before_mb"], 1), round(memory[label]["peak_mb"], 1),
         round(memory[label]["peak_mb"] - memory[label]["before_mb"], 1), round(memory[label]["seconds"] * 1000))
        for label in ready
    ]  # fmt: skip
    memory_table = print_table(
        "B4: a worker's peak RSS while evaluating everyone (audiences.tasks.evaluate_audience)",
        ["scale", "members", "peak RSS before evaluating, MB", "peak RSS after, MB", "growth, MB", "evaluation ms"],
        memory_rows,
    )
    if "1m" in memory:
        peak = memory["1m"]["peak_mb"]
        verdicts.append(
            f"- peak RSS at 1M members: **{peak:.0f} MB** (bar < {MEMORY_BAR_MB} MB): "
            f"**{'met' if peak < MEMORY_BAR_MB else 'MISSED'}**"
        )
    peaks = [memory[label]["peak_mb"] for label in ready]
    spread = max(peaks) - min(peaks)
    verdicts.append(
        f"- peak RSS from {min(ready, key=SCALES.get)} to {max(ready, key=SCALES.get)} members varies by "
        f"{spread:.1f} MB: it does {'not ' if spread < 10 else ''}grow with the audience's size"
    )
    if not growth:
        verdicts.append("- 4M/1M not measured: both the 1m and 4m scales are needed")
    verdict = "\n".join(verdicts)
    print(verdict)
    runs = "\n".join(
        f"- {label}, rule {key}: project {', '.join(f'{s:.3f}' for s in result['project_runs'])}"
        + (f"; hand-written {', '.join(f'{s:.3f}' for s in result['hand_runs'])}" if result["hand_runs"] else "")
        for label in ready
        for key, result in times[label].items()
    )
    if not args.no_record:
        setup(database=f"{PREFIX}_{ready[0]}", migrate=False)
        skipped = "".join(f"\n- {label}: {note}" for label, note in notes.items())
        append_results(
            "B4 growth of audience evaluation",
            f"`python -m bench.b4_growth --rounds {args.rounds}`: each scale in its own database seeded by "
            f"`bench.seed --profiles N`; project = `audience_evaluate()`, hand-written = B1's SQL for context. "
            f"Median of {args.rounds} rounds after a warm-up.{skipped}\n\n{table}\n\n{memory_table}\n\n"
            f"Runs (s):\n\n{runs}\n\n{verdict}\n",
        )


if __name__ == "__main__":
    main()
