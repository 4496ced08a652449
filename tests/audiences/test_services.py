import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone
from django_q.models import Schedule

from audiences import dimensions as dims
from audiences.models import Audience, AudienceSnapshot, Population, PopulationMember
from audiences.populations import (
    population_change_dimension,
    population_deduplicate,
    population_exclusion,
    population_from_queryset,
    population_intersection,
    population_limit,
    population_purge,
    population_sample,
    population_union,
)
from audiences.services import (
    AudienceError,
    AudienceInUse,
    audience_delete,
    audience_evaluate,
    audience_preview,
    audience_request_evaluation,
    audience_save,
    audience_save_population,
    audience_upload_list,
    snapshot_distribution,
    snapshot_sample,
)
from profiles.models import Booking, Product, Profile
from tests.audiences.conftest import NOW

pytestmark = pytest.mark.django_db


def rule_audience(slug, rule, dimension="profile", **extra):
    return audience_save(audience=Audience(name=slug.upper(), slug=slug, dimension=dimension, rule=rule, **extra))


def ids(population):
    return set(PopulationMember.objects.filter(population_id=population.pk).values_list("object_id", flat=True))


def pop(world, *names):
    profiles = Profile.objects.filter(external_id__in=names)
    return population_from_queryset(dimension=dims.get("profile"), queryset=profiles, origin="test")


def pks(world, *names):
    return {world[name].pk for name in names}


def test_evaluation_writes_members_with_their_profile_and_a_snapshot(world):
    audience = rule_audience("pt", {"field": "country", "op": "eq", "value": "PT"})
    snapshot = audience_evaluate(audience=audience, now=NOW)
    assert (snapshot.state, snapshot.size, snapshot.evaluated_at, snapshot.error) == ("done", 2, NOW, "")
    assert isinstance(snapshot.duration_ms, int) and snapshot.duration_ms >= 0
    assert AudienceSnapshot.objects.get(pk=snapshot.pk).population_id == snapshot.population_id
    rows = set(
        PopulationMember.objects.filter(population_id=snapshot.population_id).values_list("object_id", "profile_id")
    )
    assert rows == {(world["ana"].pk, world["ana"].pk), (world["bruno"].pk, world["bruno"].pk)}
    assert Audience.objects.get(pk=audience.pk).latest_snapshot == snapshot


def test_a_booking_audience_carries_each_bookings_profile(world):
    audience = rule_audience("soon", {"field": "status", "op": "eq", "value": "confirmed"}, dimension="booking")
    snapshot = audience_evaluate(audience=audience)
    rows = PopulationMember.objects.filter(population_id=snapshot.population_id).values_list("profile_id", flat=True)
    assert sorted(rows) == sorted([world["ana"].pk, world["bruno"].pk, world["bruno"].pk])


def test_in_audience_uses_the_latest_snapshot_and_evaluates_it_first_if_needed(world):
    rule_audience("pt", {"field": "country", "op": "eq", "value": "PT"})
    gold = rule_audience(
        "pt-gold", {"all": [{"in_audience": "pt"}, {"field": "loyalty_tier", "op": "eq", "value": "gold"}]}
    )
    assert audience_evaluate(audience=gold).size == 1
    assert AudienceSnapshot.objects.filter(audience__slug="pt", trigger="dependency").count() == 1


def test_audience_references_are_checked(world):
    rule_audience("pt", {"field": "country", "op": "eq", "value": "PT"})
    rule_audience("confirmed", {"field": "status", "op": "eq", "value": "confirmed"}, dimension="booking")
    with pytest.raises(ValidationError) as caught:
        rule_audience("x", {"any": [{"in_audience": "nope"}, {"in_audience": "confirmed"}]})
    assert caught.value.message_dict["rule"] == [
        'any[0].in_audience: no audience "nope"',
        'any[1].in_audience: audience "confirmed" is over booking, not profile',
    ]
    uses_pt = rule_audience("uses-pt", {"in_audience": "pt"})
    pt = Audience.objects.get(slug="pt")
    pt.rule = {"in_audience": "uses-pt"}
    with pytest.raises(ValidationError, match="cycle"):
        audience_save(audience=pt)
    assert list(uses_pt.uses.values_list("slug", flat=True)) == ["pt"]


def test_an_audience_in_use_cannot_be_deleted_and_the_answer_says_by_what(world):
    pt = rule_audience("pt", {"field": "country", "op": "eq", "value": "PT"})
    rule_audience("uses-pt", {"in_audience": "pt"})
    with pytest.raises(AudienceInUse, match='audience "USES-PT"'):
        audience_delete(audience=pt)
    audience_delete(audience=Audience.objects.get(slug="uses-pt"))
    audience_delete(audience=pt)
    assert not Audience.objects.exists()


def test_a_slug_in_use_cannot_change(world):
    pt = rule_audience("pt", {"field": "country", "op": "eq", "value": "PT"})
    rule_audience("uses-pt", {"in_audience": "pt"})
    pt.slug = "portugal"
    with pytest.raises(ValidationError, match="refer to this slug"):
        audience_save(audience=pt)


def test_saving_validates_everything(db):
    with pytest.raises(ValidationError) as caught:
        audience_save(audience=Audience(name="", slug="Bad Slug", dimension="planet", rule=None, refresh_cron="often"))
    assert set(caught.value.message_dict) == {"name", "slug", "dimension", "refresh_cron"}
    assert caught.value.message_dict["dimension"] == ['unknown dimension "planet"']
    with pytest.raises(ValidationError) as caught:
        audience_save(audience=Audience(name="x", slug="x", rule=None))
    assert caught.value.message_dict["rule"] == ["a rule audience needs a rule"]
    with pytest.raises(ValidationError) as caught:
        audience_save(audience=Audience(name="x", slug="x", rule={"all": []}, refresh_cron="every day"))
    assert "cron" in caught.value.message_dict["refresh_cron"][0]


def test_a_refresh_schedule_is_installed_and_removed(world):
    audience = rule_audience("pt", {"field": "country", "op": "eq", "value": "PT"}, refresh_cron="0 6 * * *")
    schedule = Schedule.objects.get(name=f"audience:{audience.pk}")
    assert (schedule.func, schedule.cron) == ("audiences.tasks.evaluate_audience", "0 6 * * *")
    assert schedule.next_run > timezone.now()
    audience.refresh_cron = ""
    audience_save(audience=audience)
    assert not Schedule.objects.filter(name=f"audience:{audience.pk}").exists()


def test_an_async_evaluation_is_queued_then_run_once(world):
    audience = rule_audience("pt", {"field": "country", "op": "eq", "value": "PT"})
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        snapshot = audience_request_evaluation(audience=audience)
        assert snapshot.state == "queued"
    snapshot.refresh_from_db()
    assert (snapshot.state, snapshot.size) == ("done", 2)
    from audiences.services import snapshot_run

    assert snapshot_run(snapshot_id=snapshot.pk) is None  # a second delivery does nothing


def test_a_list_audience_takes_uploaded_ids_and_reports_unknown_ones(world):
    audience = audience_save(audience=Audience(name="VIP", slug="vip", kind="list"))
    snapshot = audience_upload_list(audience=audience, values=["ana", " carla ", "ghost", "ana", ""])
    assert snapshot.size == 2
    assert snapshot.details == {"key": "external_id", "values": 3, "unknown_count": 1, "unknown": ["ghost"]}
    by_email = audience_upload_list(audience=audience, values=["ANA@example.com", "x@y.z"], key="email")
    assert (by_email.size, by_email.details["unknown"]) == (1, ["x@y.z"])
    with pytest.raises(AudienceError):
        audience_evaluate(audience=audience)
    with pytest.raises(AudienceError, match="named by"):
        audience_upload_list(audience=audience, values=["x"], key="phone")


def test_a_saved_audience_records_a_campaigns_population(world):
    audience = audience_save(audience=Audience(name="Saved", slug="saved", kind="saved"))
    snapshot = audience_save_population(audience=audience, population=pop(world, "ana", "dan"))
    assert snapshot.size == 2
    assert Audience.objects.get(pk=audience.pk).latest_snapshot == snapshot


def test_preview_counts_and_samples_without_saving(world):
    result = audience_preview(dimension="profile", rule={"has": "bookings"}, sample_size=2, details=True)
    assert result["count"] == 3
    assert len(result["sample"]) == 2
    assert {row["external_id"] for row in result["sample"]} < {"ana", "bruno", "dan"}  # two of those with bookings
    assert {"id", "external_id", "email"} <= set(result["sample"][0])
    assert not Population.objects.exists() and not AudienceSnapshot.objects.exists()


def test_distribution_and_sample_of_a_snapshot(world):
    snapshot = audience_evaluate(audience=rule_audience("all", {"all": []}))
    assert snapshot_distribution(snapshot=snapshot, field="country") == [
        {"value": "PT", "count": 2}, {"value": "", "count": 1}, {"value": "ES", "count": 1},
    ]  # fmt: skip
    sample = snapshot_sample(snapshot=snapshot, size=3, details=True)
    assert len({row["external_id"] for row in sample}) == 3
    assert {row["external_id"] for row in sample} < {"ana", "bruno", "carla", "dan"}


def test_set_operations_run_in_sql(world):
    a = pop(world, "ana", "bruno", "carla")
    b = pop(world, "bruno", "carla", "dan")
    c = pop(world, "carla")
    assert ids(population_union(populations=[a, b], origin="t")) == pks(world, "ana", "bruno", "carla", "dan")
    assert ids(population_intersection(populations=[a, b], origin="t")) == pks(world, "bruno", "carla")
    assert ids(population_exclusion(base=a, excluded=[b], origin="t")) == pks(world, "ana")
    assert ids(population_exclusion(base=a, excluded=[c, b], origin="t")) == pks(world, "ana")
    sample = population_sample(population=a, size=2, origin="t")
    assert sample.size == 2 and len(ids(sample)) == 2 and ids(sample) < pks(world, "ana", "bruno", "carla")
    assert ids(population_limit(population=a, size=1, origin="t")) == {min(pks(world, "ana", "bruno", "carla"))}
    assert population_union(populations=[a, b], origin="t").size == 4


def test_deduplication_keeps_n_per_value(world):
    everyone = pop(world, "ana", "bruno", "carla", "dan")
    one_per_country = population_deduplicate(population=everyone, fields=["country"], origin="t")
    assert one_per_country.size == 3  # PT (ana: lowest id), ES, ""
    assert world["ana"].pk in ids(one_per_country) and world["bruno"].pk not in ids(one_per_country)
    assert population_deduplicate(population=everyone, fields=["country"], keep=2, origin="t").size == 4


def test_populations_of_different_dimensions_do_not_combine(world):
    bookings = population_from_queryset(dimension=dims.get("booking"), queryset=world["ana"].bookings.all(), origin="t")
    with pytest.raises(ValueError, match="different dimensions"):
        population_union(populations=[pop(world, "ana"), bookings], origin="t")


def test_retention_keeps_referenced_populations(world):
    audience = rule_audience("pt", {"field": "country", "op": "eq", "value": "PT"})
    for _ in range(3):
        audience_evaluate(audience=audience)
    orphan = pop(world, "dan")
    call_command("purge_populations", hours=0, keep=2)
    assert audience.snapshots.count() == 2
    remaining = set(Population.objects.values_list("pk", flat=True))
    assert orphan.pk not in remaining
    assert remaining == set(audience.snapshots.values_list("population_id", flat=True))
    assert population_purge(older_than=timezone.now() - dt.timedelta(days=1)) == (0, 0)


def test_changing_dimension_follows_the_registered_paths(world):
    bookings = population_from_queryset(
        dimension=dims.get("booking"), queryset=Booking.objects.filter(status="confirmed"), origin="t"
    )
    profiles = population_change_dimension(population=bookings, path="profile", origin="t")
    assert (profiles.dimension, ids(profiles)) == ("profile", pks(world, "ana", "bruno"))  # bruno once
    products = population_from_queryset(
        dimension=dims.get("product"), queryset=Product.objects.filter(category="tour"), origin="t"
    )
    bookers = population_change_dimension(population=products, path="bookers", origin="t")
    assert ids(bookers) == pks(world, "ana", "dan")
    back = population_change_dimension(population=profiles, path="bookings", origin="t")
    assert back.size == 4  # ana's two bookings and bruno's two
    with pytest.raises(ValueError, match="no change path"):
        population_change_dimension(population=profiles, path="friends", origin="t")


def test_preview_evaluates_a_referenced_audience_that_has_no_snapshot(world):
    rule_audience("pt", {"field": "country", "op": "eq", "value": "PT"})
    result = audience_preview(dimension="profile", rule={"in_audience": "pt"}, details=True)
    assert result["count"] == 2
