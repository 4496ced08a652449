"""Finding profiles by name, email, phone, city or external id, ignoring case and accents.

Every searched column is joined into one text, the *search document*, folded (lower case, accents
removed) by the SQL function `f_unaccent`; each word of the search must occur somewhere in it
(words AND, columns OR). On PostgreSQL `f_unaccent` is an IMMUTABLE wrapper around the `unaccent`
extension (which is not immutable itself, so it cannot be indexed) and the document has a GIN
trigram index (`pg_trgm`), so `LIKE '%word%'` stays an index scan at millions of profiles
(migration 0002 installs them; see docs/operations.md for a database user without the privilege
to create extensions). On SQLite `f_unaccent` is a Python function registered on every new
connection: the same folding, by Unicode decomposition.
"""

import re
import unicodedata

from django.db import DatabaseError, connections, models, transaction
from django.db.migrations.loader import MigrationLoader
from django.db.models import Func, Q, QuerySet

SEARCH_COLUMNS = ("first_name", "last_name", "email", "phone", "city", "external_id")
INDEX_NAME = "profile_search_trgm_idx"
MAX_WORDS = 8
MAX_WORD_LENGTH = 100

# What Unicode decomposition leaves whole but unaccent maps to plain letters.
_LETTERS = str.maketrans({"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th"})
_PHONE_LIKE = re.compile(r"^\+?[\d\s().-]+$")
_PHONE_MIN_DIGITS = 6


def fold(text: str | None) -> str | None:
    """Lower case without accents: "João" -> "joao", "ÉVORA" -> "evora" (SQLite's f_unaccent)."""
    if text is None:
        return None
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).translate(_LETTERS)


def _document_sql(columns: list[str]) -> str:
    return "f_unaccent(lower(" + " || ' ' || ".join(columns) + "))"


class SearchDocument(Func):
    """f_unaccent(lower(first_name || ' ' || ... || external_id)): the indexed expression. The
    columns are NOT NULL (blank is ''), so the concatenation is never NULL."""

    output_field = models.TextField()

    def __init__(self):
        super().__init__(*(models.F(name) for name in SEARCH_COLUMNS))

    def as_sql(self, compiler, connection, **extra_context):
        columns, params = [], []
        for expression in self.get_source_expressions():
            sql, column_params = compiler.compile(expression)
            columns.append(sql)
            params.extend(column_params)
        return _document_sql(columns), params


class Contains(Func):
    """`document LIKE f_unaccent(lower('%word%'))`: the word, folded the same way, anywhere."""

    output_field = models.BooleanField()

    def __init__(self, document, word: str):
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        super().__init__(document, models.Value(f"%{escaped}%"))

    def as_sql(self, compiler, connection, **extra_context):
        document, pattern = (compiler.compile(e) for e in self.get_source_expressions())
        return f"{document[0]} LIKE f_unaccent(lower({pattern[0]})) ESCAPE '\\'", [*document[1], *pattern[1]]


def phone_digits(term: str) -> str | None:
    """A term typed as a phone number, as it appears inside an E.164 number, or None:
    "+351 912 345 678" -> "+351912345678", "00351 912..." -> "+351912...", "0612 34 56 78" ->
    "612345678" (a national number without its trunk prefix)."""
    if not _PHONE_LIKE.match(term):
        return None
    digits = re.sub(r"\D", "", term)
    if len(digits) < _PHONE_MIN_DIGITS:
        return None
    if term.startswith("+"):
        return f"+{digits}"
    if digits.startswith("00"):
        return f"+{digits[2:]}"
    return digits.lstrip("0") or None


def search_words(term: str) -> list[str]:
    return [word[:MAX_WORD_LENGTH] for word in term.split()][:MAX_WORDS]


def search_q(term: str) -> Q | None:
    """The condition for a search term, or None for a blank one. A term that reads as a phone
    number matches as typed (an external id may be digits) or as the phone it normalises to."""
    term = term.strip()
    if not term:
        return None
    document = SearchDocument()
    phone = phone_digits(term)
    if phone is not None:
        return Q(Contains(document, "".join(term.split()))) | Q(Contains(document, phone))
    condition = Q()
    for word in search_words(term):
        condition &= Q(Contains(document, word))
    return condition


def profile_search(queryset: QuerySet, term: str) -> QuerySet:
    """The profiles of `queryset` that match every word of `term` (see the module docstring)."""
    condition = search_q(term)
    return queryset if condition is None else queryset.filter(condition)


# -- database support --------------------------------------------------------------------------------

POSTGRESQL_INSTALL = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    # unaccent(regdictionary, text) is IMMUTABLE-safe once the dictionary is named; the wrapper
    # names schema and dictionary so that a search_path change cannot alter its result. {schema}:
    # where the extension lives (public, unless a DBA put it elsewhere).
    "CREATE OR REPLACE FUNCTION f_unaccent(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT "
    "AS $$ SELECT {schema}.unaccent('{schema}.unaccent'::regdictionary, $1) $$",
    f"CREATE INDEX IF NOT EXISTS {INDEX_NAME} ON profiles_profile "
    f"USING gin (({_document_sql(list(SEARCH_COLUMNS))}) gin_trgm_ops)",
]
POSTGRESQL_UNINSTALL = [f"DROP INDEX IF EXISTS {INDEX_NAME}", "DROP FUNCTION IF EXISTS f_unaccent(text)"]

PRIVILEGE_HINT = (
    "Profile search needs the PostgreSQL extensions unaccent and pg_trgm, and this database user "
    "may not create them. Ask a superuser to run, in this database: CREATE EXTENSION unaccent; "
    "CREATE EXTENSION pg_trgm; then run the migrations again (docs/operations.md, 'Profile search')."
)


def install_postgresql(connection) -> None:
    """Extensions, the immutable unaccent wrapper and the search index; idempotent."""
    with connection.cursor() as cursor:
        for statement in POSTGRESQL_INSTALL[:2]:
            try:
                with transaction.atomic(using=connection.alias):
                    cursor.execute(statement)
            except DatabaseError as exc:
                raise DatabaseError(f"{PRIVILEGE_HINT} ({exc})") from exc
        cursor.execute("SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'unaccent'")
        schema = cursor.fetchone()[0]
        cursor.execute(POSTGRESQL_INSTALL[2].replace("{schema}", schema))
        cursor.execute(POSTGRESQL_INSTALL[3])


def is_installed(connection) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regprocedure('f_unaccent(text)') IS NOT NULL")
        return bool(cursor.fetchone()[0])


def register_sqlite_function(sender, connection, **kwargs) -> None:
    """connection_created: f_unaccent on a new SQLite connection."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("f_unaccent", 1, fold, deterministic=True)


def ensure_postgresql_support(sender, using="default", **kwargs) -> None:
    """post_migrate: a database built without migrations (the test suite's `--no-migrations`)
    gets the search support that migration 0002 installs elsewhere."""
    connection = connections[using]
    without_migrations = MigrationLoader.migrations_module(sender.label)[0] is None
    if connection.vendor == "postgresql" and without_migrations and not is_installed(connection):
        install_postgresql(connection)
