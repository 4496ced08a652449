"""The admin site as a marketer reads it: sections in their order, and a dashboard on the index.

Sections group models by what they are for, not by the Django app that holds them: Campaigns,
Audiences, Messages, Customer data, then any deployer's own apps, Settings, and Operations (users,
API keys, background tasks, login records), which only superusers see. A section with no model
the user may see is not shown; apps with no models yet (campaigns, channels) show nothing.
"""

from dataclasses import dataclass

from django.contrib import admin
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse

from config.dashboard import dashboard
from config.roles import is_operator


@dataclass(frozen=True)
class Section:
    key: str
    name: str
    apps: tuple[str, ...] = ()
    models: tuple[str, ...] = ()  # "app_label.model_name", taken from their app's section
    order: tuple[str, ...] = ()  # model names first in this order, the rest alphabetically
    superusers_only: bool = False

    def takes(self, app_label: str, model_name: str) -> bool:
        return f"{app_label}.{model_name}" in self.models or app_label in self.apps

    def sort_key(self, model_dict: dict) -> tuple[int, str]:
        name = model_dict["object_name"].lower()
        return (self.order.index(name) if name in self.order else len(self.order), str(model_dict["name"]))


# Deployers' own apps go between these two groups, each a section of its own.
MARKETING_SECTIONS = (
    Section("campaigns", "Campaigns", apps=("campaigns",)),
    Section("audiences", "Audiences", apps=("audiences",)),
    Section("messages", "Messages", apps=("channels",)),
    Section(
        "customer-data", "Customer data", apps=("profiles",),
        order=("profile", "consent", "consentevent", "suppression", "pushdevice",
               "booking", "purchase", "subscription", "product", "inventoryitem", "plan"),
    ),
)  # fmt: skip
SYSTEM_SECTIONS = (
    Section("settings", "Settings", models=("profiles.customattribute",)),
    Section(
        "operations", "Operations", apps=("auth", "authtoken", "config", "django_q", "axes"),
        order=("user", "group", "apikey", "schedule", "ormq", "failure", "success"), superusers_only=True,
    ),
)  # fmt: skip
SECTIONS = (*MARKETING_SECTIONS, *SYSTEM_SECTIONS)


def section_for(app_label: str, model_name: str) -> Section | None:
    """The section a model belongs to (by model first, then by app); None for other apps."""
    for section in SECTIONS:
        if f"{app_label}.{model_name}" in section.models:
            return section
    return next((section for section in SECTIONS if app_label in section.apps), None)


class OrchestratorAdminSite(admin.AdminSite):
    site_header = "Campaign orchestration"
    site_title = "Campaign orchestration"
    index_title = "Overview"
    site_url = None  # there is no public site to go to: no "View site" link
    index_template = "admin/dashboard.html"

    def get_app_list(self, request, app_label=None):
        """The index and the sidebar: sections. An app's own page (/admin/<app>/): that app, its
        models in the section's order."""
        app_dict = self._build_app_dict(request, app_label)
        if app_label:
            return [self._ordered(app, app_label) for app in app_dict.values()]
        return self.sections(request, app_dict)

    def _ordered(self, app: dict, app_label: str) -> dict:
        models = app["models"]
        section = section_for(app_label, models[0]["object_name"].lower()) if models else None
        models.sort(key=section.sort_key if section else lambda m: str(m["name"]))
        return app

    def sections(self, request, app_dict: dict | None = None) -> list[dict]:
        app_dict = self._build_app_dict(request) if app_dict is None else app_dict
        grouped: dict[str, dict] = {}
        others: list[dict] = []
        for app_label, app in app_dict.items():
            for model_dict in app["models"]:
                section = section_for(app_label, model_dict["object_name"].lower())
                if section is None:
                    continue
                if section.superusers_only and not is_operator(request):
                    continue
                entry = grouped.setdefault(section.key, self._section_dict(section))
                entry["models"].append(model_dict)
                entry["apps"].add(app_label)
            if all(section_for(app_label, m["object_name"].lower()) is None for m in app["models"]):
                app["models"].sort(key=lambda m: str(m["name"]))
                others.append(app)
        result = [grouped[s.key] for s in MARKETING_SECTIONS if s.key in grouped]
        result += sorted(others, key=lambda app: str(app["name"]).lower())
        result += [grouped[s.key] for s in SYSTEM_SECTIONS if s.key in grouped]
        for entry in grouped.values():
            section = next(s for s in SECTIONS if s.key == entry["app_label"])
            entry["models"].sort(key=section.sort_key)
            apps = entry.pop("apps")
            if len(apps) == 1 and apps <= set(section.apps):  # the app's page lists the same models
                entry["app_url"] = reverse("admin:app_list", kwargs={"app_label": apps.pop()}, current_app=self.name)
        return result

    def _section_dict(self, section: Section) -> dict:
        url = reverse("admin:section", kwargs={"key": section.key}, current_app=self.name)
        return {"name": section.name, "app_label": section.key, "app_url": url, "has_module_perms": True,
                "models": [], "apps": set()}  # fmt: skip

    def get_urls(self):
        return [path("sections/<slug:key>/", self.admin_view(self.section_index), name="section"), *super().get_urls()]

    def section_index(self, request, key: str):
        """A section's page, for sections that gather several apps (Operations)."""
        # Like an app's page, a section with nothing the user may see is not there (404).
        keys = {section.key for section in SECTIONS}
        found = [entry for entry in self.sections(request) if entry["app_label"] == key and key in keys]
        if not found:
            raise Http404(f'There is no admin section "{key}" with anything you may see.')
        context = {
            **self.each_context(request),
            "title": found[0]["name"],
            "subtitle": None,
            "app_list": found,
            "app_label": key,
        }
        request.current_app = self.name
        return TemplateResponse(request, "admin/app_index.html", context)

    def index(self, request, extra_context=None):
        return super().index(request, {"dashboard": dashboard(request.user), **(extra_context or {})})
