"""Spanish and English texts of the analytics domain's message codes."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "invalid_month": {"en": "Not a month: use YYYY-MM (2000-01 to 2099-12).",
                      "es": "No es un mes: use AAAA-MM (2000-01 a 2099-12)."},
    "window_too_long": {"en": "At most {max} months at a time.",
                        "es": "Como máximo {max} meses a la vez."},
    "not_your_cooperative": {"en": "You do not fish in this cooperative.",
                             "es": "Usted no pesca en esta cooperativa."},
    "tile_out_of_range": {"en": "Outside the tile grid: from 0 to {max}.",
                          "es": "Fuera de la malla de teselas: de 0 a {max}."},
    "statement_not_an_object": {"en": "Send the statement as it was issued: a JSON object.",
                                "es": "Envíe la constancia tal como se emitió: un objeto JSON."},
    "signature_missing": {"en": "The statement has no signature.",
                          "es": "La constancia no tiene firma."},
    "signature_invalid": {"en": "The signature does not match: the statement was changed or "
                                "not signed by this service.",
                          "es": "La firma no coincide: la constancia fue modificada o no la "
                                "firmó este servicio."},
    "key_unknown": {"en": "Signed with a key this service does not publish.",
                    "es": "Firmada con una clave que este servicio no publica."},
    "key_unsupported": {"en": "Not an Ed25519 signature.", "es": "No es una firma Ed25519."},
    "sharing_not_enabled": {
        "en": "This cooperative does not share its figures with your organization for this "
              "purpose: its members have not voted to, or voted to stop.",
        "es": "Esta cooperativa no comparte sus cifras con su organización para este fin: sus "
              "socios no lo han votado, o votaron dejar de hacerlo."},
    "sharing_own_statistics": {
        "en": "A cooperative's own statistics are for its admins and never shared; ask for "
              "one of: {purposes}.",
        "es": "Las estadísticas propias de una cooperativa son para sus administradores y no se "
              "comparten; pida uno de: {purposes}."},
}
