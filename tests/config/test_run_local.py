"""`manage.py run_local` (make run's last step): Ctrl-C stops the web server and the worker,
leaving no process behind, within seconds."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROC = Path("/proc")

pytestmark = pytest.mark.skipif(not (PROC / "self" / "stat").exists(), reason="reads sessions from /proc (Linux)")


def session_members(session_id: int) -> list[int]:
    """Live (not zombie) processes of a session, from /proc/<pid>/stat."""
    members = []
    for stat in PROC.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # ended while being read
        state, session = fields[0], int(fields[3])
        if session == session_id and state != "Z":
            members.append(int(stat.parent.name))
    return members


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - a local http URL
            return response.status == 200
    except OSError:
        return False


@pytest.fixture
def environment(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'run.sqlite3'}", "VAR_DIR": str(tmp_path)}
    env.update(Q_SYNC="false", PYTHONUNBUFFERED="1")
    env.pop("DJANGO_SETTINGS_MODULE", None)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    return env


def test_it_stops_the_web_server_and_the_worker_on_ctrl_c_leaving_nothing(environment):
    port = free_port()
    launcher = subprocess.Popen(
        [sys.executable, "manage.py", "run_local", f"127.0.0.1:{port}"],
        cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,  # its own session: what it leaves behind is findable by session id
    )  # fmt: skip
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(launcher.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (
            answers(f"http://127.0.0.1:{port}/healthz?checks=database") and any("running." in line for line in output)
        ):
            time.sleep(0.2)
        assert launcher.poll() is None, "".join(output)
        assert len(session_members(launcher.pid)) >= 3, "the launcher, the web server and the worker's processes"

        launcher.send_signal(signal.SIGINT)  # what Ctrl-C in the terminal sends it
        launcher.wait(timeout=10)
        left = session_members(launcher.pid)
        assert left == [], f"processes left behind: {left}"
    finally:
        for pid in session_members(launcher.pid):
            os.kill(pid, signal.SIGKILL)
    reader.join(timeout=5)
    text = "".join(output)
    assert launcher.returncode == 0, text
    assert "has stopped" in text and "Stopped." in text
    assert "Segmentation fault" not in text and "Traceback" not in text
    assert not answers(f"http://127.0.0.1:{port}/healthz?checks=database")
