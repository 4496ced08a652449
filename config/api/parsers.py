"""The API's JSON parser: DRF's, with a nesting limit (settings.JSON_MAX_DEPTH).

Python's decoder recurses once per level, so a body nested a few thousand levels deep raised
RecursionError (a 500) before any of our limits were checked. Here it is a 400 that says why, as
is a body nested deeper than the limit.
"""

from rest_framework import parsers
from rest_framework.exceptions import ParseError

from config.input_safety import JSONInputError, check_depth, max_depth


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = max_depth()
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - the body is nested too deeply (at most {limit} levels).") from None
        try:
            check_depth(data, limit=limit)
        except JSONInputError as exc:
            raise ParseError(f"JSON parse error - the body {exc}.") from None
        return data
