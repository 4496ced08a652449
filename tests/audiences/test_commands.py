"""`manage.py evaluate_audience`: evaluates by slug or id, prints the size, fails with a message."""

import io
import re

import pytest
from django.core.management import CommandError, call_command

from audiences.models import Audience, AudienceSnapshot
from audiences.services import audience_save

pytestmark = pytest.mark.django_db

PT = {"field": "country", "op": "eq", "value": "PT"}
SUMMARY = re.compile(
    r"^(?P<slug>[a-z0-9-]+): (?P<size>\d+) (?P<what>[a-z ]+) "
    r"\(evaluation (?P<ms>\d+) ms, \d+\.\d\d s in all; snapshot (?P<snapshot>\d+)\)\n$"
)


def evaluate(target: str) -> dict[str, str]:
    out = io.StringIO()
    call_command("evaluate_audience", target, stdout=out)
    match = SUMMARY.match(out.getvalue())
    assert match, out.getvalue()
    return match.groupdict()


def save(slug: str, rule=None, **fields) -> Audience:
    return audience_save(audience=Audience(name=fields.pop("name", slug.upper()), slug=slug, rule=rule, **fields))


def test_it_evaluates_by_slug_and_prints_the_size_and_the_snapshot(world):
    audience = save("pt", PT)
    printed = evaluate("pt")
    snapshot = AudienceSnapshot.objects.get(audience=audience)
    assert printed == {"slug": "pt", "size": "2", "what": "profiles", "ms": str(snapshot.duration_ms),
                       "snapshot": str(snapshot.pk)}  # fmt: skip
    assert (snapshot.state, snapshot.size, snapshot.trigger) == ("done", 2, "command")
    assert Audience.objects.get(pk=audience.pk).latest_snapshot_id == snapshot.pk


def test_it_evaluates_by_id_and_names_the_dimension(world):
    audience = save("confirmed", {"field": "status", "op": "eq", "value": "confirmed"}, dimension="booking")
    printed = evaluate(str(audience.pk))
    assert (printed["slug"], printed["size"], printed["what"]) == ("confirmed", "3", "bookings")


def test_a_slug_made_of_digits_is_found_by_its_slug(world):
    decoy = save("pt", PT)
    numeric = save(str(decoy.pk + 1000), {"field": "country", "op": "eq", "value": "ES"})
    printed = evaluate(numeric.slug)
    assert (printed["slug"], printed["size"]) == (numeric.slug, "1")
    assert not decoy.snapshots.exists()


def test_an_id_that_is_also_another_audiences_slug_means_the_slug(world):
    first = save("pt", PT)
    named_like_an_id = save(str(first.pk), {"field": "country", "op": "eq", "value": "ES"})
    assert evaluate(str(first.pk))["slug"] == named_like_an_id.slug
    assert (first.snapshots.count(), named_like_an_id.snapshots.count()) == (0, 1)


@pytest.mark.parametrize("target", ["nope", "999999", "²"])
def test_an_unknown_audience_is_an_error_naming_it(db, target):
    with pytest.raises(CommandError) as caught:
        call_command("evaluate_audience", target, stdout=io.StringIO())
    assert str(caught.value) == f"No audience with the slug or id {target!r}."
    assert not AudienceSnapshot.objects.exists()


def test_a_list_audience_is_refused_with_the_reason(db):
    save("vip", kind=Audience.Kind.LIST, name="VIP")
    with pytest.raises(CommandError) as caught:
        call_command("evaluate_audience", "vip", stdout=io.StringIO())
    assert str(caught.value) == '"VIP" is uploaded list: it is uploaded or saved, not evaluated.'
    assert not AudienceSnapshot.objects.exists()


def test_a_failing_evaluation_is_an_error_with_the_rules_problem_and_a_failed_snapshot(world):
    save("vip", kind=Audience.Kind.LIST, name="VIP")  # never uploaded: it has no members
    audience = save("uses-vip", {"any": [PT, {"in_audience": "vip"}]})
    out = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("evaluate_audience", "uses-vip", stdout=out)
    assert str(caught.value) == 'any[1].in_audience: audience "vip" has no members yet'
    assert out.getvalue() == ""
    failed = AudienceSnapshot.objects.get(audience=audience)
    assert (failed.state, failed.trigger, failed.error) == ("failed", "command", str(caught.value))
    assert Audience.objects.get(pk=audience.pk).latest_snapshot_id is None


def test_from_the_command_line_an_error_exits_with_status_1(db, capsys):
    with pytest.raises(SystemExit) as exit_:
        from django.core.management import execute_from_command_line

        execute_from_command_line(["manage.py", "evaluate_audience", "nope"])
    assert exit_.value.code == 1
    assert capsys.readouterr().err == "CommandError: No audience with the slug or id 'nope'.\n"
