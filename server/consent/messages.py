"""Spanish and English texts of the consent domain: message codes and purposes."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "recipient_unknown": {"en": "No organization {id}.", "es": "No existe la organización {id}."},
    "recipient_kind": {"en": "This purpose's recipient must be one of: {kinds}.",
                       "es": "El destinatario de este fin debe ser de tipo: {kinds}."},
    "recipient_not_your_cooperative": {
        "en": "You can consent to the pooled statistics of a cooperative you are an active "
              "member of.",
        "es": "Solo puede consentir a las estadísticas conjuntas de una cooperativa de la que "
              "sea socio activo."},
}

PURPOSE_TEXT: dict[str, dict[str, tuple[str, str]]] = {
    "cooperative_statistics": {
        "es": ("Estadísticas de la cooperativa",
               "Sus capturas cuentan en las cifras conjuntas que ve la administración de la "
               "cooperativa (desembarques, esfuerzo, mapa de calor), siempre agregadas con al "
               "menos 3 embarcaciones y con supresión secundaria."),
        "en": ("Cooperative statistics",
               "Your catches count in the pooled figures the cooperative's administrators see "
               "(landings, effort, heatmap), always pooled over at least 3 vessels and with "
               "secondary suppression.")},
    "research": {
        "es": ("Investigación", "Cifras conjuntas para un centro de investigación que usted nombra."),
        "en": ("Research", "Pooled figures for a research organization you name.")},
    "fishery_improvement": {
        "es": ("Proyecto de mejora pesquera",
               "Cifras conjuntas para un proyecto de mejora pesquera (FIP) que usted nombra."),
        "en": ("Fishery improvement project",
               "Pooled figures for a fishery improvement project (FIP) you name.")},
    "buyer": {
        "es": ("Comprador", "El origen de lo que compra un comprador que usted nombra."),
        "en": ("Buyer", "The origin of what a buyer you name buys.")},
    "mandatory_government_reporting": {
        "es": ("Informes obligatorios al gobierno",
               "Los avisos de arribo y estadísticas que la ley exige (CONAPESCA, FAO) se envían "
               "a las autoridades sin requerir consentimiento: no dependen de estas opciones."),
        "en": ("Mandatory government reports",
               "The landing notices and statistics the law requires (CONAPESCA, FAO) go to the "
               "authorities without consent: these choices do not change them.")},
}
