from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.models import WorkerHeartbeat


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any database failure is the answer, not an error
        return f"error: {exc.__class__.__name__}"
    return "ok"


def _check_worker() -> str:
    try:
        latest = WorkerHeartbeat.objects.order_by("-seen_at").values_list("seen_at", flat=True).first()
    except Exception as exc:
        return f"unknown: {exc.__class__.__name__}"
    if latest is None:
        return "never seen"
    if timezone.now() - latest > timedelta(seconds=settings.WORKER_HEARTBEAT_MAX_AGE):
        return f"last seen {latest.isoformat()}"
    return "ok"


CHECKS = {"database": _check_database, "worker": _check_worker}


@never_cache
@require_GET
def healthz(request):
    """For load balancers and operators: 200 when every asked check passes, else 503.

    `?checks=database` limits the probe (a web node's balancer should not drop the node because
    the workers are down); by default it checks the database and that a worker was seen recently.
    """
    wanted = [name for name in request.GET.get("checks", ",".join(CHECKS)).split(",") if name]
    unknown = sorted(set(wanted) - set(CHECKS))
    if unknown:
        return JsonResponse({"error": f"unknown checks: {', '.join(unknown)}"}, status=400)
    report = {name: CHECKS[name]() for name in wanted}
    healthy = all(value == "ok" for value in report.values())
    return JsonResponse({"status": "ok" if healthy else "failing", "checks": report}, status=200 if healthy else 503)
