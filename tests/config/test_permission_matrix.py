"""Who may do what: every role, a user with no role, anonymous and a superuser against every API
endpoint and every admin page.

Endpoints and pages are enumerated from the URL resolver and the admin registry, so a new one is
in the matrix without editing this file. What each needs is derived from its model's permissions
by the rules below (`api_needs`, `admin_needs`); the subject's actual group permissions decide
whether it is allowed. A URL those rules cannot place fails `test_every_url_is_in_the_matrix`,
naming it: add it to a table here.

Expected answers: allowed is neither 401/403 nor a redirect to the login page, and not a 5xx
(reads of lists and objects: 200); denied is 401 (anonymous API), 403 (API, or a staff user in
the admin; 404 for an admin app index) or a redirect to the login page (anonymous admin).
Every request runs in a savepoint that is rolled back, so one world serves them all.
"""

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.auth.models import Group, Permission, User
from django.db import models, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from audiences.models import Audience
from config.models import ApiKey
from config.roles import ROLES, ensure_roles
from profiles.models import ConsentEvent, CustomAttribute, InventoryItem, PushDevice, Suppression
from tests.factories import (
    BookingFactory,
    ConsentFactory,
    PlanFactory,
    ProductFactory,
    ProfileFactory,
    PurchaseFactory,
    SubscriptionFactory,
)

pytestmark = pytest.mark.django_db

# "every permission": a staff user holding every permission there is, yet no superuser: what
# only superusers may do stays closed to it, whatever it holds.
SUBJECTS = ("anonymous", "no role", *ROLES, "every permission", "superuser")
# Apps whose admin only superusers get (stated here, not imported, so the code cannot move it).
SUPERUSER_ONLY_APPS = ("auth", "axes", "config", "django_q")
LOGIN_URL = "/admin/login/"


# -- what a request needs ------------------------------------------------------------------------


@dataclass(frozen=True)
class Need:
    """Allowed when the user holds every permission of one of `any_of`; or only superusers; or nobody."""

    any_of: tuple[tuple[str, ...], ...] = ()
    superuser_only: bool = False
    nobody: bool = False

    def met_by(self, user: User | None) -> bool:
        if user is None or self.nobody:
            return False
        if self.superuser_only:
            return user.is_superuser
        return any(user.has_perms(perms) for perms in self.any_of)

    def __str__(self) -> str:
        if self.nobody:
            return "offered to nobody"
        if self.superuser_only:
            return "superusers only"
        return " or ".join(" and ".join(perms) or "any user" for perms in self.any_of)


ANY_USER = Need(any_of=((),))
SUPERUSER = Need(superuser_only=True)
NOBODY = Need(nobody=True)


def perm(model: type[models.Model], action: str) -> str:
    return f"{model._meta.app_label}.{action}_{model._meta.model_name}"


def needs_all(model: type[models.Model], *actions: str) -> Need:
    return Need(any_of=(tuple(perm(model, action) for action in actions),))


def view_or_change(model: type[models.Model]) -> Need:
    return Need(any_of=((perm(model, "view"),), (perm(model, "change"),)))


# -- the API ---------------------------------------------------------------------------------------

API_STANDARD = {
    "list": "view", "retrieve": "view", "create": "add", "update": "change", "partial_update": "change",
    "destroy": "delete",
}  # fmt: skip
# Extra actions: (action, method) -> what it does to the viewset's model. An action not listed
# here is taken to need view for GET and change otherwise; if it does not, the matrix says so.
API_ACTIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("bulk_upsert", "post"): ("add", "change"),  # creates and updates
    ("evaluate", "post"): ("change",),
    ("members", "post"): ("change",),  # uploading a list changes the audience
    ("preview", "post"): ("view",),  # counts a rule, saves nothing
}
# (basename, action) whose permission differs from the rules above.
API_OVERRIDES: dict[tuple[str, str], tuple[str, ...]] = {
    ("consent", "create"): ("add", "change"),  # a batch of events moves current states
}
# Viewsets without a queryset: the model whose permissions guard them, and a lookup value.
API_MODELS: dict[str, type[models.Model]] = {"dimension": Audience}
API_LOOKUPS: dict[str, str] = {"dimension": "profile"}
# API views that are not viewsets.
API_VIEWS: dict[str, Need] = {"api-root": ANY_USER}
# Outside /api/v1/ and /admin/: who may open them (None: public, not in the matrix).
OTHER_PAGES: dict[str, Need | None] = {"healthz": None, "schema": ANY_USER, "swagger-ui": ANY_USER, "redoc": ANY_USER}


@dataclass(frozen=True)
class ApiCase:
    basename: str
    url_name: str
    method: str
    action: str
    model: type[models.Model] | None
    lookup: str | None  # the URL kwarg naming the object, for detail routes
    lookup_field: str  # the object's attribute that goes there
    need: Need

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.url_name} ({self.action})"


def walk(patterns, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern


def api_needs(basename: str, model: type[models.Model], action: str, method: str) -> Need:
    if (basename, action) in API_OVERRIDES:
        return needs_all(model, *API_OVERRIDES[basename, action])
    if action in API_STANDARD:
        return needs_all(model, API_STANDARD[action])
    return needs_all(model, *API_ACTIONS.get((action, method), ("view",) if method == "get" else ("change",)))


def api_cases(pattern: URLPattern) -> list[ApiCase]:
    callback = pattern.callback
    if pattern.name in API_VIEWS:
        return [ApiCase(pattern.name, pattern.name, "get", "view", None, None, "", API_VIEWS[pattern.name])]
    viewset = getattr(callback, "cls", None)
    basename = getattr(callback, "initkwargs", {}).get("basename")
    if not getattr(callback, "actions", None) or basename is None:
        return []
    queryset = getattr(viewset, "queryset", None)
    model = queryset.model if queryset is not None else API_MODELS.get(basename)
    if model is None:
        return []
    lookup_field = getattr(viewset, "lookup_field", "pk")
    lookup = getattr(viewset, "lookup_url_kwarg", None) or lookup_field
    lookup = lookup if lookup in pattern.pattern.regex.groupindex else None
    return [
        ApiCase(
            basename,
            pattern.name,
            method,
            action,
            model,
            lookup,
            lookup_field,
            api_needs(basename, model, action, method),
        )
        for method, action in callback.actions.items()
    ]


def api_patterns() -> Iterator[tuple[str, URLPattern]]:
    for route, pattern in walk(get_resolver().url_patterns):
        if route.startswith("api/v1/") and "format" not in pattern.pattern.regex.groupindex:
            yield route, pattern


def api_resources() -> dict[str, list[ApiCase]]:
    resources: dict[str, list[ApiCase]] = {}
    for _, pattern in api_patterns():
        for case in api_cases(pattern):
            resources.setdefault(case.basename, []).append(case)
    return resources


# -- the admin -------------------------------------------------------------------------------------

# Pages an admin never offers, whatever the permissions (read-only consent, log-like tables).
NOT_OFFERED: dict[str, set[str]] = {
    "profiles.consent": {"add", "delete"},
    "profiles.consentevent": {"add", "delete"},
    "django_q.success": {"add"},
    "django_q.failure": {"add"},
    "django_q.ormq": {"add"},
    "axes.accessattempt": {"add"},
    "axes.accesslog": {"add"},
    "axes.accessfailurelog": {"add"},
}
CONSENT_RECORD = Need(any_of=(("profiles.add_consentevent",),))
CONSENT_IMPORT = Need(any_of=(("profiles.add_consentevent", "profiles.change_consent"),))
# Custom admin pages: URL name -> (method, need); import pages are placed by `admin_needs`.
CUSTOM_ADMIN_PAGES: dict[str, tuple[str, Need]] = {
    "profiles_consentevent_record": ("get", CONSENT_RECORD),
    "audiences_audience_preview": ("post", Need(any_of=(("audiences.view_audience",),))),
    "audiences_audience_suggestions": ("get", Need(any_of=(("audiences.view_audience",),))),
    # The values of members' fields are data about people: profiles' view permission too.
    "audiences_audience_distribution": ("get", Need(any_of=(("audiences.view_audience", "profiles.view_profile"),))),
    "audiences_audience_calculate": ("post", Need(any_of=(("audiences.change_audience",),))),
    "audiences_audience_upload": ("post", Need(any_of=(("audiences.change_audience",),))),
    # Its columns depend on profiles' view permission; the page itself needs only the audience's.
    "audiences_audience_export": ("get", Need(any_of=(("audiences.view_audience",),))),
}
# Query strings that custom admin GET pages need to answer 200 to someone allowed.
ADMIN_QUERIES: dict[str, str] = {
    "audiences_audience_suggestions": "?dimension=profile&field=country",
    "audiences_audience_distribution": "?field=country",
}
IMPORT_NEEDS: dict[str, Need] = {"profiles.consent": CONSENT_IMPORT, "profiles.consentevent": CONSENT_IMPORT}
# Site-wide admin pages: name -> need (None: not in the matrix, with the reason).
SITE_PAGES: dict[str, Need | None] = {
    "index": ANY_USER,
    "password_change": ANY_USER,
    "password_change_done": ANY_USER,
    "jsi18n": ANY_USER,
    "app_list": None,  # one case per app, below
    "section": None,  # one case per section of the index (config/admin_site.py), below
    "login": None,  # public
    "logout": None,  # POST only; ends the session
    "autocomplete": None,  # no admin uses autocomplete_fields; Django checks the target admin's view permission
    "view_on_site": None,  # redirects to a model's public URL; no model defines one
}
STANDARD_PAGES = ("changelist", "add", "change", "history", "delete", "simple_history")


@dataclass(frozen=True)
class AdminCase:
    url_name: str
    method: str
    model: type[models.Model] | None
    needs_object: bool
    need: Need
    args: tuple = ()  # fixed URL args (the app label of an app index)

    def __str__(self) -> str:
        return f"{self.method.upper()} admin:{self.url_name}{'/' + '/'.join(self.args) if self.args else ''}"


def admin_needs(model: type[models.Model], kind: str) -> Need:
    label = model._meta.label_lower
    if kind in NOT_OFFERED.get(label, set()):
        return NOBODY
    if model._meta.app_label in SUPERUSER_ONLY_APPS:
        return SUPERUSER
    if kind == "import":
        return IMPORT_NEEDS.get(label, needs_all(model, "add", "change"))
    if kind in ("add", "delete"):
        return needs_all(model, kind)
    return view_or_change(model)


def admin_model_cases(model: type[models.Model], model_admin: admin.ModelAdmin) -> list[AdminCase]:
    info = f"{model._meta.app_label}_{model._meta.model_name}"
    cases = []
    for pattern in model_admin.urls:
        if not pattern.name:
            continue  # the bare object URL: a redirect to its change page
        kind = pattern.name.removeprefix(f"{info}_")
        takes_object = pattern.pattern.regex.groups > 0
        if pattern.name in CUSTOM_ADMIN_PAGES:
            method, need = CUSTOM_ADMIN_PAGES[pattern.name]
        elif kind in (*STANDARD_PAGES, "import"):
            method, need = "get", admin_needs(model, kind)
        elif model._meta.app_label in SUPERUSER_ONLY_APPS:
            method, need = "get", SUPERUSER  # e.g. a user's password page
        else:
            continue  # unplaced: test_every_url_is_in_the_matrix names it
        cases.append(AdminCase(pattern.name, method, model, takes_object, need))
    return cases


def app_index_need(app_label: str) -> Need:
    if app_label in SUPERUSER_ONLY_APPS:
        return SUPERUSER
    alternatives = tuple(
        alternative
        for model in admin.site._registry
        if model._meta.app_label == app_label
        for alternative in view_or_change(model).any_of
    )
    return Need(any_of=alternatives)


def section_needs() -> dict[str, Need]:
    """The index's sections (stated here, not imported): who may open each one's page."""
    from profiles.models import CustomAttribute

    return {
        "campaigns": NOBODY,  # no models yet: no section
        "audiences": app_index_need("audiences"),
        "messages": NOBODY,
        "customer-data": app_index_need("profiles"),
        "settings": view_or_change(CustomAttribute),
        "operations": SUPERUSER,
    }


def admin_resources() -> dict[str, list[AdminCase]]:
    resources = {
        model._meta.label_lower: admin_model_cases(model, model_admin)
        for model, model_admin in admin.site._registry.items()
    }
    site = [AdminCase(name, "get", None, False, need) for name, need in SITE_PAGES.items() if need is not None]
    apps = sorted({model._meta.app_label for model in admin.site._registry})
    site += [AdminCase("app_list", "get", None, False, app_index_need(label), (label,)) for label in apps]
    site += [AdminCase("section", "get", None, False, need, (key,)) for key, need in section_needs().items()]
    resources["admin site"] = site
    return resources


API_RESOURCES = api_resources()
ADMIN_RESOURCES = admin_resources()


# -- the world: one object of each model a resource needs -------------------------------------------


def _task(*, success: bool):
    from django_q.models import Failure, Success, Task

    now = timezone.now()
    task = Task.objects.create(
        id=f"matrix{int(success)}", name="matrix-task", func="math.floor", args=(1.5,), kwargs={},
        started=now, stopped=now, success=success, result=1 if success else "boom",
    )  # fmt: skip
    return (Success if success else Failure).objects.get(pk=task.pk)


def _queued():
    from django_q.models import OrmQ
    from django_q.signing import SignedPackage

    payload = SignedPackage.dumps({"id": "matrix-q", "name": "matrix-queued", "func": "math.floor", "args": (1.5,)})
    return OrmQ.objects.create(key="matrix", payload=payload, lock=timezone.now())


def _axes(model_name: str):
    from axes import models as axes_models

    fields = {"username": "someone", "ip_address": "203.0.113.1", "user_agent": "ua", "http_accept": "*/*"}
    fields |= {"path_info": LOGIN_URL, "attempt_time": timezone.now()}
    if model_name == "AccessAttempt":
        fields |= {"get_data": "", "post_data": "", "failures_since_start": 1}
    return getattr(axes_models, model_name).objects.create(**fields)


def _schedule():
    from django_q.models import Schedule

    return Schedule.objects.create(name="matrix", func="math.floor")


def _api_key():
    owner = User.objects.create(username="key-owner")
    return ApiKey.objects.get(key=Token.objects.create(user=owner).key)


BUILDERS: dict[str, Callable[[], models.Model]] = {
    "profiles.profile": ProfileFactory,
    "profiles.product": ProductFactory,
    "profiles.plan": PlanFactory,
    "profiles.booking": BookingFactory,
    "profiles.purchase": PurchaseFactory,
    "profiles.subscription": SubscriptionFactory,
    "profiles.consent": ConsentFactory,
    "profiles.inventoryitem": lambda: InventoryItem.objects.create(
        external_id="INV-1", product=ProductFactory(), location="Lisboa", quantity=3
    ),
    "profiles.consentevent": lambda: ConsentEvent.objects.create(
        profile=ProfileFactory(), channel="email", status="opted_in", occurred_at=timezone.now() - dt.timedelta(days=1)
    ),
    "profiles.suppression": lambda: Suppression.objects.create(channel="email", address="gone@example.com"),
    "profiles.pushdevice": lambda: PushDevice.objects.create(profile=ProfileFactory(), token="tok-m", platform="ios"),
    "profiles.customattribute": lambda: CustomAttribute.objects.create(key="matrix", label="Matrix", type="string"),
    "audiences.audience": lambda: Audience.objects.create(
        name="Portugal",
        slug="portugal",
        kind="rule",
        dimension="profile",
        rule={"field": "country", "op": "eq", "value": "PT"},
    ),  # fmt: skip
    "auth.user": lambda: User.objects.create(username="someone"),
    "auth.group": lambda: Group.objects.create(name="Some group"),
    "config.apikey": _api_key,
    "django_q.schedule": _schedule,
    "django_q.success": lambda: _task(success=True),
    "django_q.failure": lambda: _task(success=False),
    "django_q.ormq": _queued,
    "axes.accessattempt": lambda: _axes("AccessAttempt"),
    "axes.accesslog": lambda: _axes("AccessLog"),
    "axes.accessfailurelog": lambda: _axes("AccessFailureLog"),
}


def subject_user(subject: str) -> User | None:
    if subject == "anonymous":
        return None
    if subject == "superuser":
        return User.objects.create(username="matrix-root", is_staff=True, is_superuser=True)
    user = User.objects.create(username=f"matrix-{subject.lower().replace(' ', '-')}", is_staff=True)
    if subject in ROLES:
        user.groups.add(Group.objects.get(name=subject))
    if subject == "every permission":
        user.user_permissions.add(*Permission.objects.all())
    return User.objects.get(pk=user.pk)  # no permission cache from before the group was added


def rolled_back(send: Callable[[], object]):
    with transaction.atomic():
        response = send()
        transaction.set_rollback(True)
    return response


# -- the matrix -------------------------------------------------------------------------------------


def api_url(case: ApiCase, obj: models.Model | None) -> str:
    if case.lookup is None:
        return reverse(case.url_name)
    value = API_LOOKUPS.get(case.basename) or getattr(obj, case.lookup_field)
    return reverse(case.url_name, kwargs={case.lookup: value})


def api_object(basename: str) -> models.Model | None:
    """The object the resource's detail routes address (None when it needs none)."""
    cases = API_RESOURCES[basename]
    if basename in API_LOOKUPS or not any(case.lookup for case in cases):
        return None
    return BUILDERS[cases[0].model._meta.label_lower]()


def api_verdict(case: ApiCase, user: User | None, status: int) -> str | None:
    """None when the answer is the expected one, else what is wrong."""
    allowed = case.need.met_by(user)
    if not allowed:
        expected = 401 if user is None else 403
        return None if status == expected else f"answered {status}, expected {expected} (needs {case.need})"
    if status in (401, 403) or status >= 500:
        return f"answered {status}, expected access (needs {case.need})"
    if case.method == "get" and case.action in ("list", "retrieve") and status != 200:
        return f"answered {status} to a read, expected 200"
    return None


def admin_verdict(case: AdminCase, user: User | None, response) -> str | None:
    status = response.status_code
    to_login = status == 302 and response["Location"].startswith(LOGIN_URL)
    if not case.need.met_by(user):
        if user is None:
            return None if to_login else f"answered {status}, expected a redirect to the login page"
        expected = 404 if case.url_name in ("app_list", "section") else 403
        return None if status == expected else f"answered {status}, expected {expected} (needs {case.need})"
    if status == 403 or to_login or status >= 500:
        return f"answered {status}, expected access (needs {case.need})"
    if case.method == "get" and status != 200:
        return f"answered {status} to a GET, expected 200"
    return None


@pytest.fixture
def matrix_world(db):
    ensure_roles()


def _client_for(user: User | None, *, api: bool):
    client = APIClient() if api else Client()
    client.raise_request_exception = False
    if user is not None and api:
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    elif user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize("subject", SUBJECTS)
@pytest.mark.parametrize("resource", sorted(API_RESOURCES))
def test_the_api_answers_each_subject_by_its_permissions(matrix_world, subject, resource):
    obj = api_object(resource)
    user = subject_user(subject)
    client = _client_for(user, api=True)
    problems = []
    for case in API_RESOURCES[resource]:
        url = api_url(case, obj)
        body = {} if case.method != "get" else None
        response = rolled_back(lambda c=case, u=url, b=body: getattr(client, c.method)(u, b, format="json"))
        if verdict := api_verdict(case, user, response.status_code):
            problems.append(f"{case} {url}: {verdict}")
    assert not problems, f"{subject}:\n" + "\n".join(problems)


def admin_args(case: AdminCase, obj: models.Model | None) -> list:
    if case.args:
        return list(case.args)
    if not case.needs_object:
        return []
    if case.url_name.endswith("_simple_history"):
        return [quote(obj.pk), obj.history.latest().history_id]
    return [quote(obj.pk)]


@pytest.mark.parametrize("subject", SUBJECTS)
@pytest.mark.parametrize("resource", sorted(ADMIN_RESOURCES))
def test_the_admin_answers_each_subject_by_its_permissions(matrix_world, subject, resource):
    cases = ADMIN_RESOURCES[resource]
    obj = BUILDERS[resource]() if resource in BUILDERS else None
    user = subject_user(subject)
    client = _client_for(user, api=False)
    problems = []
    for case in cases:
        url = reverse(f"admin:{case.url_name}", args=admin_args(case, obj)) + ADMIN_QUERIES.get(case.url_name, "")
        send = client.get if case.method == "get" else client.post
        response = rolled_back(lambda s=send, u=url: s(u))
        if verdict := admin_verdict(case, user, response):
            problems.append(f"{case} {url}: {verdict}")
    assert not problems, f"{subject}:\n" + "\n".join(problems)


@pytest.mark.parametrize("subject", ["anonymous", "no role"])  # their need is a login, nothing more
@pytest.mark.parametrize("name", sorted(name for name, need in OTHER_PAGES.items() if need is not None))
def test_the_api_schema_and_docs_need_a_login(matrix_world, subject, name):
    user = subject_user(subject)
    status = _client_for(user, api=True).get(reverse(name)).status_code
    assert status == (200 if OTHER_PAGES[name].met_by(user) else 401)


def test_every_url_is_in_the_matrix():
    placed_api = {case.url_name for cases in API_RESOURCES.values() for case in cases}
    placed_admin = {case.url_name for cases in ADMIN_RESOURCES.values() for case in cases} | set(SITE_PAGES)
    unplaced = []
    for route, pattern in walk(get_resolver().url_patterns):
        if not pattern.name:
            continue  # Django's and the admin's catch-all redirects
        if route.startswith("admin/"):
            placed = pattern.name in placed_admin
        elif route.startswith("api/v1/"):
            placed = pattern.name in placed_api or "format" in pattern.pattern.regex.groupindex
        else:
            placed = pattern.name in OTHER_PAGES
        if not placed:
            unplaced.append(f"{route} ({pattern.name})")
    needing_objects = {label for label, cases in ADMIN_RESOURCES.items() if any(c.needs_object for c in cases)}
    needing_objects |= {
        cases[0].model._meta.label_lower
        for basename, cases in API_RESOURCES.items()
        if basename not in API_LOOKUPS and any(case.lookup for case in cases)
    }
    assert not unplaced, "Place these in a table of this module: " + ", ".join(unplaced)
    assert needing_objects <= set(BUILDERS), "Add to BUILDERS: " + ", ".join(sorted(needing_objects - set(BUILDERS)))


def test_no_role_gets_the_api_key_admin_and_a_superuser_sees_no_other_users_key(matrix_world):
    key_owner_key = _api_key().key
    for subject in SUBJECTS[1:-1]:  # every role, no role, every permission
        client = _client_for(subject_user(subject), api=False)
        assert client.get(reverse("admin:config_apikey_changelist")).status_code == 403, subject
    root = _client_for(subject_user("superuser"), api=False)
    page = root.get(reverse("admin:config_apikey_changelist"))
    assert page.status_code == 200
    assert key_owner_key not in page.content.decode()
    assert f"{key_owner_key[:4]}…" in page.content.decode()
