"""The PostgreSQL write path of the bulk upsert (profiles/ingestion/staging.py): what only a real
server shows. The semantics shared with SQLite are tested in test_upsert.py on both."""

import threading
import time

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from profiles.ingestion.upsert import entity_bulk_upsert
from profiles.models import Profile

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("the staging write path is PostgreSQL's; SQLite takes the portable path")


def _wait_until_blocked(pid: int, seconds: float = 10) -> None:
    """Until the backend `pid` waits for a lock (it started its statement and met our row)."""
    deadline = time.monotonic() + seconds
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = %s AND NOT granted)", [pid])
            if cursor.fetchone()[0]:
                return
            time.sleep(0.01)
    raise AssertionError(f"backend {pid} never waited for a lock")


def test_a_key_another_transaction_inserts_meanwhile_is_updated_not_lost_or_counted_twice():
    backend: dict[str, int] = {}
    outcome: dict[str, object] = {}
    ready = threading.Event()

    def upsert():
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                backend["pid"] = cursor.fetchone()[0]
            ready.set()
            outcome["result"] = entity_bulk_upsert(
                entity="profiles",
                records=[{"external_id": "race", "city": "Lisboa"}, {"external_id": "new", "city": "Faro"}],
            )
        except Exception as exc:  # re-raised by the test below
            outcome["error"] = exc
        finally:
            ready.set()
            connection.close()

    thread = threading.Thread(target=upsert)
    with transaction.atomic():
        Profile.objects.create(external_id="race", first_name="Other", city="Porto")
        thread.start()
        assert ready.wait(10)
        _wait_until_blocked(backend["pid"])
    thread.join(10)
    if "error" in outcome:
        raise outcome["error"]
    result = outcome["result"]
    assert (result.created, result.updated, result.errors) == (1, 1, [])
    race = Profile.objects.get(external_id="race")
    assert (race.first_name, race.city) == ("Other", "Lisboa")
    assert sorted(Profile.objects.values_list("external_id", flat=True)) == ["new", "race"]


def _statements(queries: CaptureQueriesContext) -> list[str]:
    """The first word of each statement but transaction control."""
    words = [query["sql"].split()[0] for query in queries.captured_queries]
    return [word for word in words if word not in {"BEGIN", "COMMIT", "SAVEPOINT", "RELEASE"}]


def test_a_batch_costs_the_same_few_statements_whatever_fields_its_records_name():
    fields = ["email", "first_name", "last_name", "city", "region", "postal_code", "loyalty_tier", "locale"]
    records = [
        {"external_id": f"c{i}", **{name: f"x{i}" for j, name in enumerate(fields) if i >> j & 1}} for i in range(256)
    ]
    for record in records:
        if "email" in record:
            record["email"] = f"c{record['external_id']}@example.com"
    with CaptureQueriesContext(connection) as creates:
        result = entity_bulk_upsert(entity="profiles", records=records)
    assert (result.created, result.errors) == (256, [])
    with CaptureQueriesContext(connection) as updates:
        result = entity_bulk_upsert(entity="profiles", records=records[::-1])
    assert (result.created, result.updated) == (0, 256)
    # create the staging table if needed and empty it, then the one write (COPY is not a query here)
    assert _statements(creates) == _statements(updates) == ["CREATE", "WITH"]
    assert Profile.objects.get(external_id="c255").first_name == "x255"


def test_a_rolled_back_batch_leaves_the_next_one_working():
    with pytest.raises(RuntimeError, match="stop"), transaction.atomic():
        entity_bulk_upsert(entity="profiles", records=[{"external_id": "c1"}])
        raise RuntimeError("stop")
    result = entity_bulk_upsert(entity="profiles", records=[{"external_id": "c1"}, {"external_id": "c2"}])
    assert (result.created, result.updated) == (2, 0)
