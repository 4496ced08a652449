"""Profile search in the admin: name, email, phone, city and external id, any case, any accents."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from profiles.models import Profile
from profiles.search import INDEX_NAME, fold, phone_digits, profile_search
from tests.factories import ProfileFactory

pytestmark = pytest.mark.django_db

PROFILES = "/admin/profiles/profile/"


@pytest.fixture
def world():
    return {
        "joao": ProfileFactory(
            external_id="cust-001", first_name="João", last_name="Gonçalves", city="Évora",
            email="joao.goncalves@example.com", phone="+351912345678",
        ),
        "maria": ProfileFactory(
            external_id="cust-002", first_name="Maria", last_name="Silva", city="Lisboa",
            email="maria@example.org", phone="+351961111222",
        ),
        "zoe": ProfileFactory(
            external_id="fr-77", first_name="Zoé", last_name="Lefèvre", city="Paris",
            email="zoe@exemple.fr", phone="+33612345678",
        ),
    }  # fmt: skip


def found(term: str) -> set[str]:
    return set(profile_search(Profile.objects.all(), term).values_list("external_id", flat=True))


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("joao", {"cust-001"}),  # no accent finds the accented name
        ("JOÃO", {"cust-001"}),
        ("gonçalves", {"cust-001"}),
        ("GONCALVES", {"cust-001"}),
        ("ÉVORA", {"cust-001"}),
        ("evora", {"cust-001"}),
        ("lefevre", {"fr-77"}),
        ("goncalves@exam", {"cust-001"}),  # an email fragment
        ("Maria@Example.ORG", {"cust-002"}),  # emails are stored lower-cased
        ("cust-00", {"cust-001", "cust-002"}),
        ("fr-77", {"fr-77"}),
        ("silva", {"cust-002"}),
        ("lisb", {"cust-002"}),
    ],
)
def test_it_finds_by_any_searched_column_ignoring_case_and_accents(world, term, expected):
    assert found(term) == expected


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("912 345 678", {"cust-001"}),  # Portuguese national format
        ("+351 912 345 678", {"cust-001"}),
        ("00351912345678", {"cust-001"}),
        ("06 12 34 56 78", {"fr-77"}),  # French national format, trunk 0
        ("(061) 234-5678", {"fr-77"}),
    ],
)
def test_it_finds_a_phone_typed_in_national_or_international_format(world, term, expected):
    assert found(term) == expected


def test_every_word_must_match_some_column(world):
    assert found("joao evora") == {"cust-001"}
    assert found("maria évora") == set()  # each word matches someone, but not the same profile
    assert found("silva lisboa maria") == {"cust-002"}


def test_like_wildcards_in_the_term_are_plain_characters(world):
    ProfileFactory(external_id="a_b%c", first_name="", last_name="")
    assert found("a_b%") == {"a_b%c"}
    assert found("%") == {"a_b%c"}
    assert found("_") == {"a_b%c"}


def test_a_blank_term_keeps_every_profile(world):
    assert found("   ") == {"cust-001", "cust-002", "fr-77"}


def test_folding_matches_what_the_database_does(world):
    assert fold("ÉVORA Gonçalves Straße") == "evora goncalves strasse"
    assert phone_digits("912 345 678") == "912345678"
    assert phone_digits("12345") is None
    assert phone_digits("cust-1") is None


def test_the_admin_search_box_finds_the_row(world, admin_as):
    steward = admin_as("Data steward")
    response = steward.get(PROFILES, {"q": "joao évora"})
    assert response.status_code == 200
    assert "cust-001" in response.text
    assert "cust-002" not in response.text
    assert "1 result" in response.text


def test_the_searched_changelist_queries_do_not_grow_with_matches(world, admin_as):
    steward = admin_as("Data steward")
    steward.get(PROFILES, {"q": "silva"})
    with CaptureQueriesContext(connection) as few:
        steward.get(PROFILES, {"q": "silva"})
    ProfileFactory.create_batch(30, last_name="Silva")
    with CaptureQueriesContext(connection) as many:
        steward.get(PROFILES, {"q": "silva"})
    assert len(many) == len(few)


@pytest.mark.postgres
def test_it_uses_the_trigram_index_on_postgresql(world):
    if connection.vendor != "postgresql":
        pytest.skip("the trigram index is PostgreSQL's")
    queryset = profile_search(Profile.objects.all(), "goncalves")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a three-row table would be scanned anyway
        plan = queryset.explain()
    assert INDEX_NAME in plan
