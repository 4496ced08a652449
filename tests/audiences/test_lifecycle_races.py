"""An audience edited from a stale copy: it never comes back from a delete, and never points back
to an older snapshot."""

import pytest

from audiences import services
from audiences.models import Audience

pytestmark = pytest.mark.django_db

RULE = {"field": "country", "op": "eq", "value": "PT"}


def _audience(**extra) -> Audience:
    return services.audience_save(
        audience=Audience(name="Portugal", slug="pt", kind="rule", dimension="profile", rule=RULE, **extra)
    )


def test_saving_a_copy_of_a_deleted_audience_does_not_bring_it_back():
    stale = Audience.objects.get(pk=_audience().pk)
    services.audience_delete(audience=Audience.objects.get(pk=stale.pk))
    stale.name = "Renamed"
    with pytest.raises(services.AudienceGone, match="no longer exists"):
        services.audience_save(audience=stale)
    assert not Audience.objects.exists()


def test_an_edit_from_a_copy_read_before_an_evaluation_keeps_the_newer_snapshot():
    audience = _audience()
    first = services.audience_evaluate(audience=audience)
    stale = Audience.objects.get(pk=audience.pk)
    second = services.audience_evaluate(audience=Audience.objects.get(pk=audience.pk))
    assert stale.latest_snapshot_id == first.pk
    stale.description = "edited meanwhile"
    services.audience_save(audience=stale)
    stored = Audience.objects.get(pk=audience.pk)
    assert (stored.latest_snapshot_id, stored.description) == (second.pk, "edited meanwhile")


def test_the_api_answers_404_when_the_audience_goes_during_an_edit(api_as, monkeypatch):
    audience = _audience()
    client = api_as("Campaign administrator")
    real = services.audience_validate

    def validate_after_a_delete(*, audience):  # the delete lands just before the save
        Audience.objects.filter(pk=audience.pk).update(latest_snapshot=None)
        Audience.objects.filter(pk=audience.pk).delete()
        return real(audience=audience)

    monkeypatch.setattr("audiences.services.lifecycle.audience_validate", validate_after_a_delete)
    response = client.patch(f"/api/v1/audiences/{audience.pk}/", {"name": "x"}, format="json")
    assert response.status_code == 404
    assert "no longer exists" in response.json()["detail"]
