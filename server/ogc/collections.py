"""The OGC API's two collections: what each is, and where its rows come from."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Collection:
    id: str
    code: int  # ogc_feature.collection
    table: str  # the rollup table it is summed from
    with_species: bool
    title: dict[str, str]
    description: dict[str, str]


CATCH_CELLS = Collection(
    "catch-cells", 0, "ogc_cell", False,
    {"es": "Captura por celda y mes", "en": "Catch per cell and month"},
    {"es": "Captura desembarcada y en peso vivo por celda hexagonal H3 (resolución 6, ~36 km²) y "
           "mes, todas las especies. Se omiten las celdas con menos barcos que el umbral.",
     "en": "Landed and live-weight catch per H3 hexagon cell (resolution 6, ~36 km²) and month, "
           "all species. Cells with fewer vessels than the threshold are left out."})
CATCH_CELLS_SPECIES = Collection(
    "catch-cells-species", 1, "ogc_cell_species", True,
    {"es": "Captura por celda, mes y especie", "en": "Catch per cell, month and species"},
    {"es": "Como catch-cells, por especie (código ASFIS). El umbral de barcos se aplica a cada "
           "especie.",
     "en": "As catch-cells, per species (ASFIS code). The vessel threshold applies to each "
           "species."})
COLLECTIONS = {c.id: c for c in (CATCH_CELLS, CATCH_CELLS_SPECIES)}
