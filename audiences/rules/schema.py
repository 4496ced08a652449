"""A JSON Schema (draft 2020-12) of the rule grammar for one dimension.

For clients and editors: it describes the shape (condition kinds, operators, field names of
the dimension and its links, relation names). The parser remains the authority: it also checks
value types per field, choices, audience references and limits, and names every problem's path.
"""

from audiences import dimensions as dims
from audiences.rules.parser import MAX_DAYS

_OPS = sorted({op for ops in dims.OPERATORS.values() for op in ops})
_BOUND_OPS = ["eq", "ne", "lt", "lte", "gt", "gte", "between"]


def _field_names(dimension: dims.Dimension, prefix: str = "", depth: int = 0) -> list[str]:
    names = [prefix + f.name for f in dims.fields_of(dimension)]
    if depth < 2:
        for link, target in dimension.to_one.items():
            names += _field_names(dims.get(target), f"{prefix}{link}.", depth + 1)
    return names


def _definitions(dimension: dims.Dimension, seen: dict) -> str:
    """Add the definitions for a dimension (and the dimensions its relations reach)."""
    name = f"condition_{dimension.key}"
    if name in seen:
        return name
    seen[name] = {}
    ref = {"$ref": f"#/$defs/{name}"}
    relations = {r.name: r for r in dimension.relations}
    has_variants = [
        {"type": "object", "required": ["has"], "additionalProperties": False,
         "properties": {"has": {"const": relation.name},
                        "where": {"$ref": f"#/$defs/{_definitions(dims.get(relation.dimension), seen)}"},
                        "count": {"$ref": "#/$defs/bound"}}}
        for relation in relations.values()
    ]  # fmt: skip
    aggregate_of = []
    for relation in relations.values():
        target = dims.get(relation.dimension)
        aggregate_of.append(relation.name)
        aggregate_of += [
            f"{relation.name}.{f.name}"
            for f in target.fields
            if f.type in (dims.INTEGER, dims.DECIMAL, dims.DATE, dims.DATETIME)
        ]
    variants = [
        {"type": "object", "required": ["all"], "additionalProperties": False,
         "properties": {"all": {"type": "array", "items": ref}}},
        {"type": "object", "required": ["any"], "additionalProperties": False,
         "properties": {"any": {"type": "array", "items": ref}}},
        {"type": "object", "required": ["not"], "additionalProperties": False, "properties": {"not": ref}},
        {"type": "object", "required": ["field", "op", "value"], "additionalProperties": False,
         "properties": {"field": {"enum": _field_names(dimension)}, "op": {"enum": _OPS}, "value": {}}},
        {"type": "object", "required": ["in_audience"], "additionalProperties": False,
         "properties": {"in_audience": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]*$"}}},
        *has_variants,
    ]  # fmt: skip
    if relations:
        variants.append(
            {"type": "object", "required": ["agg", "of", "op", "value"], "additionalProperties": False,
             "properties": {"agg": {"enum": list(dims.AGGREGATES)}, "of": {"enum": aggregate_of},
                            "where": {"type": "object"}, "op": {"enum": _BOUND_OPS}, "value": {}}}
        )  # fmt: skip
    seen[name] = {"oneOf": variants}
    return name


def rule_schema(dimension: dims.Dimension) -> dict:
    defs: dict = {}
    root = _definitions(dimension, defs)
    defs["bound"] = {
        "type": "object", "required": ["op", "value"], "additionalProperties": False,
        "properties": {"op": {"enum": _BOUND_OPS},
                       "value": {"oneOf": [{"type": "integer", "minimum": 0},
                                           {"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 2, "maxItems": 2}]}},
    }  # fmt: skip
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"Audience rule over {dimension.label.lower()}",
        "description": f"Relative day counts range 0..{MAX_DAYS}. See docs/audiences.md for the semantics.",
        "$ref": f"#/$defs/{root}",
        "$defs": defs,
    }
