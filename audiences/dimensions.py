"""Targeting dimensions: which tables audiences can be built over, and what a rule may reach.

A dimension names a model, a key (`profile`, `booking`...), how its rows reach the profile, a
whitelist of filterable fields with their types, the to-one links a field path may follow
(`product.category` on a booking), the to-many relations usable in `has` and aggregate
conditions, and the paths usable to change dimension. Nothing outside the whitelist is
reachable: the compiler only ever hands the ORM paths written here, never a client's string.

A deployer registers their own model in a few lines (docs/audiences.md):

    register(Dimension(
        key="ticket", model=SupportTicket, label="Support tickets", profile_path="customer",
        fields=[Field("status", CHOICE, choices=("open", "closed")), Field("opened_at", DATETIME)],
        to_one={"customer": "profile"},
    ))
"""

from dataclasses import dataclass, field, replace

from django.core.exceptions import FieldDoesNotExist
from django.db import models

STRING, CHOICE, INTEGER, DECIMAL, DATE, DATETIME, BOOLEAN, LIST = (
    "string", "choice", "integer", "decimal", "date", "datetime", "boolean", "list",
)  # fmt: skip
TYPES = (STRING, CHOICE, INTEGER, DECIMAL, DATE, DATETIME, BOOLEAN, LIST)
_NUMERIC_OPS = ("eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "between", "is_null")
_DATE_OPS = (*_NUMERIC_OPS, "before", "after", "in_last_days", "in_next_days")
OPERATORS: dict[str, tuple[str, ...]] = {
    STRING: ("eq", "ne", "in", "not_in", "contains", "icontains", "startswith", "is_null"),
    CHOICE: ("eq", "ne", "in", "not_in", "is_null"),
    INTEGER: _NUMERIC_OPS,
    DECIMAL: _NUMERIC_OPS,
    DATE: _DATE_OPS,
    DATETIME: _DATE_OPS,
    BOOLEAN: ("eq", "ne", "is_null"),
    LIST: ("contains", "is_null"),  # custom traits only: a JSON list holding the value
}
AGGREGATES = ("count", "sum", "avg", "min", "max")
AGGREGATE_TYPES = {"sum": (INTEGER, DECIMAL), "avg": (INTEGER, DECIMAL), "min": (INTEGER, DECIMAL, DATE, DATETIME),
                   "max": (INTEGER, DECIMAL, DATE, DATETIME)}  # fmt: skip


@dataclass(frozen=True)
class Column:
    """What the database column behind a field can hold, read from its model field: rule values
    compared with it must fit (an integer in the column's range, a decimal within its digits, a
    string within its length), so that a rule that validates also evaluates."""

    internal_type: str  # Django's name for the column type: "IntegerField", "DecimalField"...
    max_length: int | None = None
    max_digits: int | None = None
    decimal_places: int | None = None

    @classmethod
    def of(cls, model_field: models.Field) -> "Column":
        return cls(
            internal_type=model_field.get_internal_type(),
            max_length=getattr(model_field, "max_length", None),
            max_digits=getattr(model_field, "max_digits", None),
            decimal_places=getattr(model_field, "decimal_places", None),
        )


COUNT_COLUMN = Column("BigIntegerField")  # what a count (of related rows) is compared as


@dataclass(frozen=True)
class Field:
    """A filterable field: `name` as rules write it, `path` the ORM path (default: the name).
    `column` is filled from the model field when the field's dimension is created."""

    name: str
    type: str
    path: str = ""
    label: str = ""
    choices: tuple[str, ...] = ()
    column: Column | None = None
    trait_key: str = ""  # a custom trait: the key read from the JSON column at `path`

    def __post_init__(self):
        if self.type not in TYPES:
            raise ValueError(f"Unknown field type {self.type!r} for {self.name!r}")
        object.__setattr__(self, "path", self.path or self.name)
        object.__setattr__(self, "label", self.label or self.name.replace("_", " ").capitalize())

    @property
    def operators(self) -> tuple[str, ...]:
        return OPERATORS[self.type]

    @property
    def type_name(self) -> str:
        """The type as people name it: a custom trait's declared type ("number"), else the field's."""
        if self.trait_key:
            return next(name for name, type_ in TRAIT_FIELD_TYPES.items() if type_ == self.type)
        return self.type


@dataclass(frozen=True)
class Relation:
    """A to-many relation for `has` / aggregates: rows of `dimension` whose `via` points here."""

    name: str
    dimension: str
    via: str
    label: str = ""


@dataclass(frozen=True)
class ChangePath:
    """How to move a population to another dimension: `path` is the ORM path from this model
    to the target's primary key (`profile` on a booking), or `reverse` the path from the target
    model back to this one (`bookings__product` for product -> profiles who booked it)."""

    name: str
    dimension: str
    path: str = ""
    reverse: str = ""
    label: str = ""


@dataclass
class Dimension:
    key: str
    model: type[models.Model]
    label: str
    profile_path: str | None  # ORM path to the profile's id; None when rows have no profile
    fields: list[Field]
    to_one: dict[str, str] = field(default_factory=dict)  # link name (an FK on the model) -> dimension key
    relations: list[Relation] = field(default_factory=list)
    change_paths: list[ChangePath] = field(default_factory=list)
    display_fields: tuple[str, ...] = ()  # shown in samples
    trait_column: str = ""  # a JSON field whose declared keys (custom traits) are fields too

    def __post_init__(self):
        self.fields = [f if f.column else replace(f, column=_column(self.model, f)) for f in self.fields]
        self.field_map = {f.name: f for f in self.fields}
        self.relation_map = {r.name: r for r in self.relations}
        self.change_path_map = {c.name: c for c in self.change_paths}

    @property
    def profile_id_path(self) -> str | None:
        if self.profile_path is None:
            return None
        return "pk" if self.profile_path == "" else f"{self.profile_path}_id"


# A custom trait's declared type -> the field type its values are parsed as in rules.
TRAIT_FIELD_TYPES = {"string": STRING, "number": DECIMAL, "boolean": BOOLEAN, "date": DATE, "list": LIST}
TRAIT_COLUMN = Column("JSONField")


def trait_fields(dimension: Dimension) -> dict[str, Field]:
    """The custom traits declared now (a new one is usable at once), by key, as fields named
    `attributes.<key>`; empty for a dimension without a trait column."""
    if not dimension.trait_column:
        return {}
    from profiles.models import CustomAttribute

    return {
        key: Field(f"{dimension.trait_column}.{key}", TRAIT_FIELD_TYPES[type_], path=dimension.trait_column,
                   label=label, column=TRAIT_COLUMN, trait_key=key)
        for key, label, type_ in CustomAttribute.objects.order_by("key").values_list("key", "label", "type")
    }  # fmt: skip


def fields_of(dimension: Dimension) -> list[Field]:
    """The dimension's fields followed by its custom traits: what the builder and the API offer."""
    return [*dimension.fields, *trait_fields(dimension).values()]


def _column(model: type[models.Model], field_def: Field) -> Column:
    """The column behind a field, following its ORM path (`product__category`) from `model`."""
    current, model_field = model, None
    for segment in field_def.path.split("__"):
        if current is None:
            break
        try:
            model_field = current._meta.get_field(segment)
        except FieldDoesNotExist:
            model_field = None
            break
        current = model_field.related_model
        if current is not None and segment == model_field.attname:  # `product_id`: the key's own column
            model_field, current = model_field.target_field, None
    if model_field is None or current is not None:
        raise ValueError(f"Field {field_def.name!r}: {field_def.path!r} is not a column of {model.__name__}")
    return Column.of(model_field)


_registry: dict[str, Dimension] = {}


def register(dimension: Dimension) -> Dimension:
    if dimension.key in _registry:
        raise ValueError(f"A dimension {dimension.key!r} is registered already")
    _registry[dimension.key] = dimension
    return dimension


def get(key: str) -> Dimension:
    return _registry[key]


def all_dimensions() -> list[Dimension]:
    return list(_registry.values())


def choices() -> list[tuple[str, str]]:
    return [(d.key, d.label) for d in _registry.values()]


def _choices_of(model, name) -> tuple[str, ...]:
    return tuple(value for value, _ in model._meta.get_field(name).flatchoices)


def register_builtin() -> None:
    """The dimensions of the shipped customer store (called once from AudiencesConfig.ready)."""
    from profiles.models import Booking, Consent, InventoryItem, Plan, Product, Profile, Purchase, Subscription

    money = lambda name="amount": Field(name, DECIMAL)  # noqa: E731
    register(Dimension(
        key="profile", model=Profile, label="Profiles", profile_path="",
        fields=[
            Field("external_id", STRING), Field("email", STRING), Field("phone", STRING),
            Field("first_name", STRING), Field("last_name", STRING), Field("locale", STRING),
            Field("timezone", STRING), Field("country", STRING), Field("city", STRING),
            Field("postal_code", STRING), Field("region", STRING), Field("birth_date", DATE),
            Field("loyalty_tier", STRING), Field("created_at", DATETIME), Field("updated_at", DATETIME),
        ],
        relations=[
            Relation("bookings", "booking", "profile"), Relation("purchases", "purchase", "profile"),
            Relation("subscriptions", "subscription", "profile"), Relation("consents", "consent", "profile"),
        ],
        change_paths=[
            ChangePath("bookings", "booking", reverse="profile"),
            ChangePath("purchases", "purchase", reverse="profile"),
            ChangePath("subscriptions", "subscription", reverse="profile"),
        ],
        display_fields=("email", "first_name", "last_name", "country", "loyalty_tier"),
        trait_column="attributes",
    ))  # fmt: skip
    register(Dimension(
        key="product", model=Product, label="Products", profile_path=None,
        fields=[Field("external_id", STRING, label="SKU"), Field("name", STRING), Field("category", STRING),
                money("price"), Field("currency", STRING), Field("created_at", DATETIME)],
        relations=[Relation("bookings", "booking", "product"), Relation("purchases", "purchase", "product"),
                   Relation("inventory", "inventory", "product")],
        change_paths=[
            ChangePath("bookers", "profile", reverse="bookings__product", label="Profiles who booked it"),
            ChangePath("buyers", "profile", reverse="purchases__product", label="Profiles who bought it"),
        ],
        display_fields=("name", "category", "price"),
    ))  # fmt: skip
    register(Dimension(
        key="booking", model=Booking, label="Bookings", profile_path="profile",
        fields=[Field("external_id", STRING), Field("status", CHOICE, choices=_choices_of(Booking, "status")),
                Field("check_in", DATE), Field("check_out", DATE), money(), Field("currency", STRING),
                Field("booked_at", DATETIME)],
        to_one={"profile": "profile", "product": "product"},
        change_paths=[ChangePath("profile", "profile", path="profile"), ChangePath("product", "product", path="product")],
        display_fields=("status", "check_in", "amount"),
    ))  # fmt: skip
    register(Dimension(
        key="purchase", model=Purchase, label="Purchases", profile_path="profile",
        fields=[Field("external_id", STRING), Field("quantity", INTEGER), money(), Field("currency", STRING),
                Field("purchased_at", DATETIME)],
        to_one={"profile": "profile", "product": "product"},
        change_paths=[ChangePath("profile", "profile", path="profile"), ChangePath("product", "product", path="product")],
        display_fields=("purchased_at", "amount", "quantity"),
    ))  # fmt: skip
    register(Dimension(
        key="subscription", model=Subscription, label="Subscriptions", profile_path="profile",
        fields=[Field("external_id", STRING), Field("status", CHOICE, choices=_choices_of(Subscription, "status")),
                Field("started_at", DATETIME), Field("renews_at", DATETIME), Field("cancelled_at", DATETIME)],
        to_one={"profile": "profile", "plan": "plan"},
        change_paths=[ChangePath("profile", "profile", path="profile")],
        display_fields=("status", "renews_at"),
    ))  # fmt: skip
    register(Dimension(
        key="plan", model=Plan, label="Plans", profile_path=None,
        fields=[Field("external_id", STRING), Field("name", STRING), Field("tier", STRING), money("price")],
        relations=[Relation("subscriptions", "subscription", "plan")],
        change_paths=[ChangePath("subscribers", "profile", reverse="subscriptions__plan", label="Subscribers")],
        display_fields=("name", "tier", "price"),
    ))  # fmt: skip
    register(Dimension(
        key="inventory", model=InventoryItem, label="Inventory", profile_path=None,
        fields=[Field("external_id", STRING), Field("location", STRING), Field("quantity", INTEGER)],
        to_one={"product": "product"},
        change_paths=[ChangePath("product", "product", path="product")],
        display_fields=("location", "quantity"),
    ))  # fmt: skip
    register(Dimension(
        key="consent", model=Consent, label="Consents", profile_path="profile",
        fields=[Field("channel", CHOICE, choices=_choices_of(Consent, "channel")),
                Field("status", CHOICE, choices=_choices_of(Consent, "status")),
                Field("source", STRING), Field("occurred_at", DATETIME)],
        to_one={"profile": "profile"},
        change_paths=[ChangePath("profile", "profile", path="profile")],
        display_fields=("channel", "status", "occurred_at"),
    ))  # fmt: skip
