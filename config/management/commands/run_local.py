"""`make run`'s last step: the web server and a background worker, stopped together by Ctrl-C.

Each child runs in a process group of its own, so the terminal's Ctrl-C reaches this command
only; it then asks each child to stop (SIGTERM: runserver exits, qcluster stops its workers),
waits up to `--grace` seconds, and kills whatever is left of each group. A second Ctrl-C kills
at once. If one child ends by itself, the other is stopped too. See docs/operations.md.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@dataclass
class Child:
    name: str
    process: subprocess.Popen

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def signal_group(self, signum: int) -> None:
        """Send `signum` to the child's process group (the child and what it spawned)."""
        with contextlib.suppress(ProcessLookupError):  # the whole group has ended
            os.killpg(self.process.pid, signum)


class Command(BaseCommand):
    help = "Run the web server and a background worker together; Ctrl-C stops both (make run)."
    requires_system_checks = []  # runserver checks; the launcher itself needs no database

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000", help="The web server's address.")
        parser.add_argument(
            "--grace", type=float, default=8.0, help="Seconds to let the children stop before killing them (8)."
        )

    def handle(self, *args, addrport: str, grace: float, **options):
        if grace <= 0:
            raise CommandError("--grace must be a positive number of seconds.")
        self.stop_requests = 0
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._request_stop)
        children = [
            self._start("worker", "qcluster"),
            self._start("web server", "runserver", "--noreload", addrport),
        ]
        try:
            ended = self._wait_for_stop(children)
            if ended is not None:
                self.stderr.write(
                    f"The {ended.name} ended by itself (exit code {ended.process.returncode}): stopping the rest."
                )
        finally:
            self._stop(children, grace)
        if ended is not None:
            raise CommandError(f"The {ended.name} ended unexpectedly.", returncode=ended.process.returncode or 1)

    def _start(self, name: str, *command: str) -> Child:
        # process_group=0: a group of its own, out of the terminal's foreground group, so only
        # this launcher receives Ctrl-C and decides how the children stop.
        process = subprocess.Popen([sys.executable, str(settings.BASE_DIR / "manage.py"), *command], process_group=0)  # noqa: S603
        return Child(name, process)

    def _request_stop(self, signum, frame) -> None:
        self.stop_requests += 1

    def _wait_for_stop(self, children: list[Child]) -> Child | None:
        """Until a stop signal (None) or a child ending by itself (that child)."""
        while not self.stop_requests:
            for child in children:
                if not child.running:
                    return child
            time.sleep(0.1)
        return None

    def _stop(self, children: list[Child], grace: float) -> None:
        running = [child for child in children if child.running]
        if running:
            self.stdout.write(f"Stopping the {' and the '.join(c.name for c in running)} (Ctrl-C again: at once)...")
        for child in running:
            child.process.send_signal(signal.SIGTERM)
        requests = self.stop_requests
        deadline = time.monotonic() + grace
        while any(c.running for c in children) and time.monotonic() < deadline and self.stop_requests <= requests:
            time.sleep(0.1)
        for child in children:  # also the worker's own processes, should any outlive it
            child.signal_group(signal.SIGKILL)
            child.process.wait()
        self.stdout.write("Stopped.")
