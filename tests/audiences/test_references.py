"""`in_audience` references: cycles and self-reference are refused (audiences/services/references.py)."""

import pytest
from django.core.exceptions import ValidationError

from audiences.models import Audience, AudienceSnapshot
from audiences.rules.parser import RuleError
from audiences.services import audience_evaluate, audience_save

pytestmark = pytest.mark.django_db

PT = {"field": "country", "op": "eq", "value": "PT"}


def save(slug: str, rule) -> Audience:
    return audience_save(audience=Audience(name=slug.upper(), slug=slug, rule=rule))


def refusal(audience: Audience, rule) -> list[str]:
    """The rule errors of saving `audience` with `rule`; the stored audience must be unchanged."""
    stored = Audience.objects.get(pk=audience.pk)
    before = (stored.rule, sorted(stored.uses.values_list("slug", flat=True)))
    audience.rule = rule
    with pytest.raises(ValidationError) as caught:
        audience_save(audience=audience)
    stored.refresh_from_db()
    assert (stored.rule, sorted(stored.uses.values_list("slug", flat=True))) == before
    return caught.value.message_dict["rule"]


def uses(slug: str) -> list[str]:
    return sorted(Audience.objects.get(slug=slug).uses.values_list("slug", flat=True))


def test_it_refuses_b_using_a_when_a_uses_b_and_names_the_audience_closing_the_cycle(db):
    b = save("b", PT)
    save("a", {"all": [{"in_audience": "b"}, PT]})
    assert refusal(b, {"any": [PT, {"in_audience": "a"}]}) == [
        'any[1].in_audience: audience "a" already uses this audience (a cycle)'
    ]
    assert (uses("a"), uses("b")) == (["b"], [])


def test_it_refuses_a_cycle_through_several_audiences(db):
    c = save("c", PT)
    save("b", {"in_audience": "c"})
    save("a", {"not": {"in_audience": "b"}})
    assert refusal(c, {"all": [PT, {"not": {"in_audience": "a"}}]}) == [
        'all[1].not.in_audience: audience "a" already uses this audience (a cycle)'
    ]
    save("d", {"all": [{"in_audience": "a"}, {"in_audience": "c"}]})  # a diamond is not a cycle
    assert uses("d") == ["a", "c"]


def test_it_refuses_an_audience_that_contains_itself(db):
    a = save("a", PT)
    assert refusal(a, {"in_audience": "a"}) == ["in_audience: an audience cannot contain itself"]
    assert refusal(a, {"any": [PT, {"not": {"in_audience": "a"}}]}) == [
        "any[1].not.in_audience: an audience cannot contain itself"
    ]
    with pytest.raises(ValidationError) as caught:
        save("new", {"in_audience": "new"})  # its own slug, before it exists
    assert caught.value.message_dict["rule"] == ['in_audience: no audience "new"']
    assert not Audience.objects.filter(slug="new").exists()


def test_the_api_refuses_a_cycle_with_a_400_naming_it(api_as):
    manager = api_as("Campaign manager")
    body = {"name": "B", "slug": "b", "kind": "rule", "dimension": "profile", "rule": PT}
    b_id = manager.post("/api/v1/audiences/", body, format="json").json()["id"]
    created = manager.post(
        "/api/v1/audiences/", {**body, "name": "A", "slug": "a", "rule": {"in_audience": "b"}}, format="json"
    )
    assert created.status_code == 201, created.json()
    response = manager.patch(f"/api/v1/audiences/{b_id}/", {"rule": {"in_audience": "a"}}, format="json")
    assert response.status_code == 400
    assert response.json() == {"rule": ['in_audience: audience "a" already uses this audience (a cycle)']}
    itself = manager.patch(f"/api/v1/audiences/{b_id}/", {"rule": {"in_audience": "b"}}, format="json")
    assert itself.json() == {"rule": ["in_audience: an audience cannot contain itself"]}
    assert Audience.objects.get(pk=b_id).rule == PT


def test_a_cycle_that_slipped_past_validation_fails_the_evaluation_instead_of_recursing(world):
    """Two concurrent saves each validate against the other's old rule: A uses B and B uses A
    both commit. Evaluation must refuse the cycle, not recurse until the stack runs out."""
    b = save("b", PT)
    a = save("a", {"in_audience": "b"})
    Audience.objects.filter(pk=b.pk).update(rule={"in_audience": "a"})  # what the concurrent save wrote
    b.uses.add(a)
    with pytest.raises(RuleError) as caught:
        audience_evaluate(audience=a)
    assert caught.value.problems == [("in_audience", 'audience "b" already uses this audience (a cycle)')]
    failed = AudienceSnapshot.objects.get(audience=a)
    assert (failed.state, failed.error) == ("failed", 'in_audience: audience "b" already uses this audience (a cycle)')


def test_a_cycle_written_without_its_uses_is_still_refused_by_evaluation(world):
    """Rules changed behind the services' back (a data migration; no `uses` rows): the evaluation
    stack catches the cycle when the evaluation of B, needed by A, comes back to A."""
    a, b = save("a", PT), save("b", PT)
    Audience.objects.filter(pk=a.pk).update(rule={"in_audience": "b"})
    Audience.objects.filter(pk=b.pk).update(rule={"in_audience": "a"})
    a.refresh_from_db()
    with pytest.raises(RuleError) as caught:
        audience_evaluate(audience=a)
    assert caught.value.problems == [("in_audience", 'in_audience: audience "a" refers back to this one (a cycle)')]
    assert AudienceSnapshot.objects.get(audience=a).state == "failed"
