"""The single exception type raised by ``geo`` parsers.

Callers (the HTTP layer, import scripts) need three things from a rejected
geometry: a stable code to branch on and translate, the values to put into
the translated message, and where in the submitted document the problem is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, get_args

from geo.messages import render

ErrorCode = Literal[
    "not_an_object",
    "unknown_geometry_type",
    "wrong_geometry_type",
    "missing_coordinates",
    "missing_features",
    "not_a_number",
    "not_finite",
    "too_many_dimensions",
    "longitude_out_of_range",
    "latitude_out_of_range",
    "too_few_points",
    "too_many_vertices",
    "ring_not_closed",
    "empty_geometry",
    "self_intersection",
    "invalid_geometry",
]

# Derived from the Literal so the type checker and the runtime list cannot drift.
ERROR_CODES: tuple[str, ...] = get_args(ErrorCode)

PathElement = str | int


class GeoError(ValueError):
    """A geometry was rejected.

    ``code`` is machine-readable and stable; ``params`` fill the placeholders
    of the message for that code (see ``geo.messages``); ``path`` locates the
    offending member inside the submitted JSON, e.g. ``("coordinates", 1)``.
    ``str(err)`` is the English message.
    """

    code: ErrorCode
    params: dict[str, object]
    path: tuple[PathElement, ...]

    def __init__(
        self,
        code: ErrorCode,
        params: Mapping[str, object] | None = None,
        path: tuple[PathElement, ...] = (),
    ) -> None:
        self.code = code
        self.params = dict(params or {})
        self.path = tuple(path)
        super().__init__(render(code, self.params, "en"))

    def message(self, lang: str = "en") -> str:
        return render(self.code, self.params, lang)

    def __repr__(self) -> str:
        return f"GeoError({self.code!r}, {self.params!r}, path={self.path!r})"

    # The default pickling replays ``cls(*self.args)`` i.e. with the message as
    # the code; errors cross process boundaries in worker pools, so be explicit.
    def __reduce__(
        self,
    ) -> tuple[type[GeoError], tuple[ErrorCode, dict[str, object], tuple[PathElement, ...]]]:
        return (type(self), (self.code, self.params, self.path))
