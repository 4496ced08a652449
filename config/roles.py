"""The roles of ARCHITECTURE.md section 7 as Django groups, kept in step after every migrate.

A role is a list of grants: (app label, the actions it may do on every model of that app), plus
named extra permissions (`app_label.codename`) that later apps add, such as approving a campaign.
Because grants are by app, a model added to an app later is covered by the next `migrate`.

Grants are additive: permissions an operator added to a group by hand are left alone, except the
forbidden ones (`forbidden_permissions`). Roles are for marketers and data stewards, not for
operating the site: API keys, users and groups, background tasks and schedules (a schedule names
any function to run), the admin log, login-attempt records and the system's own tables belong to
superusers (config/admin/superusers.py), so every migrate removes such permissions from the role
groups, whoever granted them.
"""

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

ALL = ("add", "change", "delete", "view")
VIEW = ("view",)
MARKETING_APPS = ("audiences", "campaigns", "channels")
DATA_APPS = ("profiles",)

# Apps whose permissions no role may hold: operating the site is the superuser's business.
OPERATOR_APPS = ("admin", "auth", "authtoken", "axes", "config", "contenttypes", "django_q", "sessions")
# simple-history's historical models are read-only history: only their view permission is grantable.
HISTORY_WRITE = r"^(add|change|delete)_historical"

ROLES: dict[str, dict] = {
    "Campaign administrator": {
        "grants": [*((app, ALL) for app in MARKETING_APPS), *((app, VIEW) for app in DATA_APPS)],
        "extra": ["campaigns.approve_campaign", "campaigns.publish_campaign"],
    },
    "Campaign approver": {
        "grants": [*((app, VIEW) for app in (*MARKETING_APPS, *DATA_APPS)), ("campaigns", ("change",))],
        "extra": ["campaigns.approve_campaign", "campaigns.publish_campaign"],
    },
    "Campaign manager": {
        "grants": [*((app, ("add", "change", "view")) for app in MARKETING_APPS), *((app, VIEW) for app in DATA_APPS)],
        "extra": [],
    },
    "Viewer": {
        "grants": [(app, VIEW) for app in (*MARKETING_APPS, *DATA_APPS)],
        "extra": [],
    },
    "Data steward": {
        "grants": [*((app, ALL) for app in DATA_APPS), ("audiences", VIEW)],
        "extra": [],
    },
}


def is_operator(request) -> bool:
    """Whether the request's user operates the site (an active superuser)."""
    user = request.user
    return bool(user.is_active and user.is_superuser)


def forbidden_permissions():
    """Permissions no role group may hold (see the module docstring)."""
    return Permission.objects.filter(Q(content_type__app_label__in=OPERATOR_APPS) | Q(codename__regex=HISTORY_WRITE))


def role_permissions(role: str):
    spec = ROLES[role]
    query = Q(pk__in=[])
    for app_label, actions in spec["grants"]:
        query |= Q(content_type__app_label=app_label, codename__regex=rf"^({'|'.join(actions)})_")
    for name in spec["extra"]:
        app_label, codename = name.split(".", 1)
        query |= Q(content_type__app_label=app_label, codename=codename)
    return Permission.objects.filter(query).exclude(pk__in=forbidden_permissions())


def ensure_roles(**kwargs) -> None:
    """Create the role groups, grant what each implies and revoke what no role may hold; safe to
    run any number of times."""
    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(*role_permissions(role))
    Group.permissions.through.objects.filter(group__name__in=ROLES, permission__in=forbidden_permissions()).delete()
