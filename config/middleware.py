"""Refuse, before any view runs, URLs that carry text no view could use.

A NUL character (`%00`) or an unpaired surrogate in the path or a query parameter reaches the
database as part of a lookup and fails the statement there (a 500). No identifier, filter value
or slug of ours may hold either, so such a request is answered 400, naming the parameter.
"""

from django.http import HttpResponse, JsonResponse

from config.input_safety import text_problem


class RefuseUnstorableText:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        problem = _url_problem(request)
        if problem is None:
            return self.get_response(request)
        message = f"Bad request: {problem}."
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": message}, status=400)
        return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")


def _url_problem(request) -> str | None:
    if problem := text_problem(request.path):
        return f"the URL path {problem}"
    for name, values in request.GET.lists():
        if problem := text_problem(name):
            return f"a query parameter name {problem}"
        for value in values:
            if problem := text_problem(value):
                return f"the query parameter {name!r} {problem}"
    return None
