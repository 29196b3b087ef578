"""The format registry: every report format is one ``BaseExporter`` subclass.

A new format (say EU FLUX FA XML) is one module that subclasses
``BaseExporter``, decorates the class with ``@register`` and is imported by
``exports/formats/__init__.py``; ``server/reports`` then offers it by name.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import BinaryIO, ClassVar, Protocol

from exports.records import CatchRecord, ExportContext


class AmendmentScope(StrEnum):
    """What an amendment must re-issue around a changed record.

    ``record``: the changed records alone (datasets). ``trip``: every current
    record of the trip, since a landing notice is re-issued whole. ``stat_cell``:
    every current record of the same organization x species x FAO area x gear x
    month, since a statistics cell is restated with its new total.
    """

    record = "record"
    trip = "trip"
    stat_cell = "stat_cell"


class Sink(Protocol):
    """Where an exporter writes its files (one run may have several)."""

    def open(self, name: str, media_type: str) -> BinaryIO:
        """A binary stream for file ``name``; closing it finishes the file."""
        ...


class OptionError(ValueError):
    """An option an exporter does not accept: ``field`` and a message code."""

    def __init__(self, field: str, code: str, **params: object) -> None:
        super().__init__(f"{field}: {code}")
        self.field = field
        self.code = code
        self.params = params


@dataclass(frozen=True, slots=True)
class WriteStats:
    records: int  # catch records read
    rows: dict[str, int]  # rows (or features, or notices) written per file name


class BaseExporter(ABC):
    name: ClassVar[str]  # registry key, e.g. "conapesca_aviso_csv"
    title_es: ClassVar[str]
    title_en: ClassVar[str]
    amendment_scope: ClassVar[AmendmentScope] = AmendmentScope.record
    # Options and their allowed values (None: free text); defaults applied by validate_options.
    option_choices: ClassVar[Mapping[str, tuple[str, ...] | None]] = {}
    option_defaults: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def validate_options(cls, options: Mapping[str, str]) -> dict[str, str]:
        out = dict(cls.option_defaults)
        for key, value in options.items():
            if key not in cls.option_choices:
                raise OptionError(f"options.{key}", "unknown_option", option=key)
            choices = cls.option_choices[key]
            if choices is not None and value not in choices:
                raise OptionError(f"options.{key}", "invalid_choice", choices=", ".join(choices))
            out[key] = value
        return out

    @abstractmethod
    def write(self, records: Iterable[CatchRecord], sink: Sink,
              context: ExportContext) -> WriteStats:
        """Read ``records`` once, in order, and write this format's files to ``sink``."""


REGISTRY: dict[str, type[BaseExporter]] = {}


def register(cls: type[BaseExporter]) -> type[BaseExporter]:
    if cls.name in REGISTRY:
        raise ValueError(f"format {cls.name!r} registered twice")
    REGISTRY[cls.name] = cls
    return cls


def get(name: str) -> type[BaseExporter]:
    """The exporter class for a format name; KeyError if there is none."""
    import exports.formats  # noqa: F401  (registers the built-in formats)

    return REGISTRY[name]


def names() -> list[str]:
    import exports.formats  # noqa: F401

    return sorted(REGISTRY)


