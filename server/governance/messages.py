"""Error and field messages of governance, in Spanish and English.

Every code starts with ``gov_``: i18n.register keeps the first text registered for a code,
and governance registers last, so a code shared with another domain would show theirs.
"""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "gov_not_a_cooperative": {
        "en": "Proposals are voted in cooperatives; this organization is a {kind}.",
        "es": "Las propuestas se votan en cooperativas; esta organización es de tipo {kind}."},
    "gov_admins_only": {
        "en": "Only the cooperative's administrators open and cancel proposals.",
        "es": "Solo la administración de la cooperativa abre y cancela propuestas."},
    "gov_not_eligible": {
        "en": "Only the cooperative's active fishers and administrators vote.",
        "es": "Solo votan los pescadores y administradores activos de la cooperativa."},
    "gov_blank_text": {"en": "This text cannot be empty.",
                       "es": "Este texto no puede estar vacío."},
    "gov_options_count": {"en": "A proposal has {min} to {max} options.",
                          "es": "Una propuesta tiene de {min} a {max} opciones."},
    "gov_duplicate_option": {"en": "The option “{label}” appears more than once.",
                             "es": "La opción «{label}» aparece más de una vez."},
    "gov_one_effect": {"en": "At most one option carries an effect.",
                       "es": "Como máximo una opción lleva un efecto."},
    "gov_quorum_precision": {"en": "A quorum has at most 4 decimals (0.6667).",
                             "es": "Un quórum tiene como máximo 4 decimales (0.6667)."},
    "gov_datetime_range": {"en": "This date is out of range.",
                           "es": "Esta fecha está fuera de rango."},
    "gov_opens_in_past": {"en": "The voting cannot open in the past.",
                          "es": "La votación no puede abrirse en el pasado."},
    "gov_opens_too_far": {"en": "The voting opens at most {days} days from now.",
                          "es": "La votación se abre como máximo dentro de {days} días."},
    "gov_closes_in_past": {"en": "The end of the voting is in the past.",
                           "es": "El cierre de la votación ya pasó."},
    "gov_window_inverted": {"en": "The voting closes before it opens.",
                            "es": "La votación cierra antes de abrirse."},
    "gov_window_too_short": {"en": "The voting lasts at least {minutes} minutes.",
                             "es": "La votación dura al menos {minutes} minutos."},
    "gov_window_too_long": {"en": "The voting lasts at most {days} days.",
                            "es": "La votación dura como máximo {days} días."},
    "gov_effect_purpose": {
        "en": "The cooperative shares for one of: {purposes}. Its own statistics are each "
              "member's consent, not a vote.",
        "es": "La cooperativa comparte para uno de estos fines: {purposes}. Sus propias "
              "estadísticas dependen del consentimiento de cada socio, no de una votación."},
    "gov_recipient_unknown": {"en": "No organization {id}.",
                              "es": "No existe la organización {id}."},
    "gov_recipient_kind": {"en": "For this purpose the recipient must be one of: {kinds}.",
                           "es": "Para este fin el destinatario debe ser de tipo: {kinds}."},
    "gov_recipient_self": {"en": "The cooperative cannot share with itself.",
                           "es": "La cooperativa no puede compartir consigo misma."},
    "gov_proposal_closed": {"en": "The voting closed at {at}.",
                            "es": "La votación cerró el {at}."},
    "gov_proposal_not_open": {"en": "The voting opens at {at}.",
                              "es": "La votación se abre el {at}."},
    "gov_proposal_cancelled": {"en": "This proposal was cancelled.",
                               "es": "Esta propuesta se canceló."},
    "gov_proposal_has_votes": {
        "en": "Members have already voted: the proposal can no longer be cancelled.",
        "es": "Ya hay socios que votaron: la propuesta ya no puede cancelarse."},
    "gov_proposal_not_closed": {
        "en": "The counted receipts are published when the voting closes ({at}).",
        "es": "Los comprobantes contados se publican al cerrar la votación ({at})."},
    "gov_option_unknown": {"en": "This proposal has no option {id}.",
                           "es": "Esta propuesta no tiene la opción {id}."},
    "gov_ballot_key_changed": {
        "en": "Your earlier ballot cannot be found (the server's key changed); it stays "
              "counted as you cast it.",
        "es": "No se encuentra su boleta anterior (cambió la clave del servidor); sigue "
              "contada como la emitió."},
    "gov_receipt_invalid": {
        "en": "A receipt is 24 letters (A-Z) and digits (2-7); hyphens and spaces are ignored.",
        "es": "Un comprobante tiene 24 letras (A-Z) y cifras (2-7); se ignoran guiones y "
              "espacios."},
    "gov_ratings_off": {
        "en": "The members of this cooperative voted to turn ratings off.",
        "es": "Los socios de esta cooperativa votaron por desactivar las calificaciones."},
}
