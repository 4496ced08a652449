"""What the rule builder (static/audiences/rule-builder.js) needs to know, from the registry.

Embedded in the change page with `json_script`: every dimension's whitelisted fields with their
types and operators, its to-one links (for paths such as `product.category`), its to-many
relations (for "has" and aggregates), and the audiences an `in_audience` condition may name.
"""

from typing import Any

from audiences import dimensions as dims
from audiences.models import Audience
from audiences.rules import parser
from audiences.services.values import SUGGESTED_FIELDS

MAX_AUDIENCES = 500


def _dimension(dimension: dims.Dimension) -> dict[str, Any]:
    return {
        "label": dimension.label,
        "fields": [
            {
                "name": f.name,
                "label": f.label,
                "type": f.type,
                "choices": list(f.choices),
                "operators": list(f.operators),
                "suggest": f.type == dims.STRING and f.name in SUGGESTED_FIELDS,
            }
            for f in dims.fields_of(dimension)
        ],
        "links": dict(dimension.to_one),
        "relations": [
            {"name": r.name, "label": r.label or r.name.replace("_", " ").capitalize(), "dimension": r.dimension}
            for r in dimension.relations
        ],
    }


def builder_metadata(*, audience: Audience | None, preview_url: str, suggestions_url: str = "") -> dict[str, Any]:
    others = Audience.objects.order_by("name")
    if audience is not None and audience.pk:
        others = others.exclude(pk=audience.pk)
    return {
        "previewUrl": preview_url,
        "suggestionsUrl": suggestions_url,
        "dimensions": {d.key: _dimension(d) for d in dims.all_dimensions()},
        "aggregates": list(dims.AGGREGATES),
        "aggregateTypes": {name: list(types) for name, types in dims.AGGREGATE_TYPES.items()},
        "boundOperators": list(parser.BOUND_OPERATORS),
        "audiences": list(others.values("slug", "name", "dimension")[:MAX_AUDIENCES]),
    }
