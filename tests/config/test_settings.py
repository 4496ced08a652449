import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args, **env):
    environment = {**os.environ, **env}
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


def test_the_production_configuration_passes_the_deploy_check():
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING",
        DEBUG="false", SECRET_KEY=secrets.token_urlsafe(60), ALLOWED_HOSTS="campaigns.example.com",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_strong_secret_key():
    result = run_manage("check", DEBUG="false", SECRET_KEY="short", ALLOWED_HOSTS="campaigns.example.com")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_a_malformed_setting_is_named():
    result = run_manage("check", Q_WORKERS="many")
    assert result.returncode != 0
    assert "Q_WORKERS='many' is not an integer" in result.stderr
