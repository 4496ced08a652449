"""Evaluation that fails: the snapshot says why, the audience keeps its members (audiences/services/evaluation.py)."""

import pytest

from audiences.models import Audience, AudienceSnapshot, Population
from audiences.rules.parser import RuleError
from audiences.services import audience_evaluate, audience_save, snapshot_run

pytestmark = pytest.mark.django_db

PT = {"field": "country", "op": "eq", "value": "PT"}
NO_MEMBERS = 'audience "vip" has no members yet'


@pytest.fixture
def evaluated_then_broken(world):
    """ "uses-vip" evaluated once (the two Portuguese profiles), then changed to also take the
    members of "vip", a list audience whose list was never uploaded: saving accepts it (the
    reference exists), evaluating cannot."""
    audience_save(audience=Audience(name="VIP", slug="vip", kind=Audience.Kind.LIST))
    audience = audience_save(audience=Audience(name="Uses VIP", slug="uses-vip", rule=PT))
    done = audience_evaluate(audience=audience)
    audience.rule = {"any": [PT, {"in_audience": "vip"}]}
    audience_save(audience=audience)
    return audience, done


def failed_snapshot(audience: Audience, done: AudienceSnapshot) -> AudienceSnapshot:
    return AudienceSnapshot.objects.filter(audience=audience).exclude(pk=done.pk).get()


def test_it_records_the_failure_on_the_snapshot_and_keeps_the_latest_one(evaluated_then_broken):
    audience, done = evaluated_then_broken
    with pytest.raises(RuleError) as caught:
        audience_evaluate(audience=audience, trigger="manual")
    assert caught.value.problems == [("any[1].in_audience", NO_MEMBERS)]
    failed = failed_snapshot(audience, done)
    assert (failed.state, failed.error, failed.trigger) == ("failed", f"any[1].in_audience: {NO_MEMBERS}", "manual")
    assert (failed.population_id, failed.size, failed.evaluated_at) == (None, None, None)
    assert isinstance(failed.duration_ms, int)
    assert Audience.objects.get(pk=audience.pk).latest_snapshot_id == done.pk
    assert list(Population.objects.values_list("pk", flat=True)) == [done.population_id]  # nothing half-written


def test_the_api_answers_a_400_naming_the_problem_and_the_members_stay(evaluated_then_broken, api_as):
    audience, done = evaluated_then_broken
    manager = api_as("Campaign manager")
    response = manager.post(f"/api/v1/audiences/{audience.pk}/evaluate/")
    assert response.status_code == 400
    assert response.json() == {"rule": {"any[1].in_audience": [NO_MEMBERS]}}
    snapshots = manager.get(f"/api/v1/audiences/{audience.pk}/snapshots/").json()
    assert [(s["state"], s["size"], s["error"], s["trigger"]) for s in snapshots] == [
        ("failed", None, f"any[1].in_audience: {NO_MEMBERS}", "api"),
        ("done", 2, "", "manual"),
    ]
    assert manager.get(f"/api/v1/audiences/{audience.pk}/").json()["latest_snapshot"]["id"] == done.pk
    members = manager.get(f"/api/v1/audiences/{audience.pk}/members/").json()
    assert sorted(row["external_id"] for row in members["results"]) == ["ana", "bruno"]


def test_a_queued_evaluation_that_fails_ends_failed_with_its_error(
    evaluated_then_broken, api_as, django_capture_on_commit_callbacks
):
    audience, done = evaluated_then_broken
    manager = api_as("Campaign manager")
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = manager.post(f"/api/v1/audiences/{audience.pk}/evaluate/?async=true")
    assert (response.status_code, response.json()["state"]) == (202, "queued")
    # The commit runs the task; inline (tests) its error reaches us, on a cluster it is the task's failure.
    with pytest.raises(RuleError):
        queued[0]()
    failed = AudienceSnapshot.objects.get(pk=response.json()["id"])
    assert (failed.state, failed.error, failed.population_id) == ("failed", f"any[1].in_audience: {NO_MEMBERS}", None)
    assert Audience.objects.get(pk=audience.pk).latest_snapshot_id == done.pk
    assert snapshot_run(snapshot_id=failed.pk) is None  # a redelivered task leaves the failure as it is
    assert AudienceSnapshot.objects.get(pk=failed.pk).state == "failed"


def test_after_the_cause_is_fixed_the_next_evaluation_succeeds(evaluated_then_broken):
    from audiences.services import audience_upload_list

    audience, done = evaluated_then_broken
    with pytest.raises(RuleError):
        audience_evaluate(audience=audience)
    audience_upload_list(audience=Audience.objects.get(slug="vip"), values=["carla"])
    snapshot = audience_evaluate(audience=audience)
    assert (snapshot.state, snapshot.size, snapshot.error) == ("done", 3, "")
    assert Audience.objects.get(pk=audience.pk).latest_snapshot_id == snapshot.pk
