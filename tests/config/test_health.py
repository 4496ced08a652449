import datetime as dt

import pytest
from django.utils import timezone

from config.models import WorkerHeartbeat
from config.tasks import heartbeat

pytestmark = pytest.mark.django_db


def test_it_fails_while_no_worker_has_been_seen(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "worker": "never seen"}


def test_it_passes_after_a_worker_heartbeat(client):
    heartbeat()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "worker": "ok"}}


def test_a_stale_heartbeat_fails(client, settings):
    seen_at = timezone.now() - dt.timedelta(seconds=settings.WORKER_HEARTBEAT_MAX_AGE + 60)
    WorkerHeartbeat.objects.create(name="old", seen_at=seen_at)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "worker": f"last seen {seen_at.isoformat()}"}
    WorkerHeartbeat.objects.filter(name="old").update(seen_at=timezone.now())
    assert client.get("/healthz").status_code == 200


def test_a_balancer_can_ask_for_the_database_only(client):
    response = client.get("/healthz", {"checks": "database"})
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok"}
    assert client.get("/healthz", {"checks": "disk"}).status_code == 400
