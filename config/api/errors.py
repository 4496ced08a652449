"""Django's error pages for the API's URLs: JSON like every other API answer, not HTML.

DRF answers errors raised inside its views itself; these handlers answer what never reaches a
view (a URL no route matches, such as /api/v1/audiences/0.5/) and a crash outside DRF's handling.
Other URLs keep Django's pages.
"""

from django.http import JsonResponse
from django.views import defaults


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def not_found(request, exception=None):
    if _is_api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _is_api(request):
        return JsonResponse({"detail": "Server error."}, status=500)
    return defaults.server_error(request)
