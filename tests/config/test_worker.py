"""A real django-q2 cluster (`manage.py qcluster`), as `make run` starts it, runs queued tasks."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_real_worker_runs_a_queued_task(tmp_path):
    database = tmp_path / "worker.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "VAR_DIR": str(tmp_path), "Q_SYNC": "false"}
    env.pop("DJANGO_SETTINGS_MODULE", None)

    def manage(*args):
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, timeout=120
        )

    manage("migrate", "--noinput")
    manage("shell", "-c", "from django_q.tasks import async_task; async_task('config.tasks.heartbeat')")
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        seen = 0
        while time.monotonic() < deadline and not seen:
            time.sleep(0.5)
            with sqlite3.connect(database, timeout=10) as conn:
                seen = conn.execute("SELECT COUNT(*) FROM config_workerheartbeat").fetchone()[0]
        assert seen == 1, "the worker did not run the queued heartbeat task within 60 s"
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
