"""Loaded by Schemathesis (SCHEMATHESIS_HOOKS) in the fuzz run's `schemathesis run` process.

`ast.parse` is not safe to call from several threads at once on CPython 3.11 (seen here on
3.11.7): it can fail with "SystemError: AST constructor recursion depth mismatch". Hypothesis
parses source files with it to describe lambdas, and Schemathesis' workers are threads, so a run
with --workers > 1 reports that as a spurious error now and then. One lock around `ast.parse`
makes the calls take turns; they are rare (Hypothesis caches each file's tree).
"""

import ast
import threading

_parse = ast.parse
_lock = threading.Lock()


def _serialized_parse(*args, **kwargs):
    with _lock:
        return _parse(*args, **kwargs)


ast.parse = _serialized_parse
