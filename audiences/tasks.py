"""django-q2 entry points: each takes ids and calls one service."""

from audiences.models import Audience
from audiences.services import audience_evaluate, snapshot_run


def run_snapshot(snapshot_id: int) -> None:
    snapshot_run(snapshot_id=snapshot_id)


def evaluate_audience(audience_id: int, trigger: str = "schedule") -> None:
    audience = Audience.objects.filter(pk=audience_id).first()
    if audience is not None:
        audience_evaluate(audience=audience, trigger=trigger)


def purge_populations() -> None:
    from django.core.management import call_command

    call_command("purge_populations")
