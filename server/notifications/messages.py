"""How each kind of notification reads, in Spanish and English."""

from __future__ import annotations

from typing import Any

TEXTS: dict[str, dict[str, str]] = {
    "market.listing_matched": {
        "es": "Nuevo anuncio para su búsqueda «{saved_search}»: {title} a {unit_price} {currency}/{unit}.",
        "en": "New listing for your search “{saved_search}”: {title} at {unit_price} {currency}/{unit}."},
    "market.order_placed": {
        "es": "Nuevo pedido de {quantity} {unit} de «{title}».",
        "en": "New order of {quantity} {unit} of “{title}”."},
    "market.listing_reduced": {
        "es": "Corrigió una captura: «{title}» ofrece ahora {quantity} {unit} menos.",
        "en": "You corrected a catch: “{title}” now offers {quantity} {unit} less."},
    "forum.reply": {"es": "{by} respondió en «{title}».", "en": "{by} replied in “{title}”."},
    "forum.reply_own": {"es": "{by} respondió a su tema «{title}».",
                        "en": "{by} replied to your thread “{title}”."},
    "forum.mention": {"es": "{by} le mencionó en «{title}».",
                      "en": "{by} mentioned you in “{title}”."},
    "forum.solution": {"es": "«{title}» tiene solución aceptada.",
                       "en": "“{title}” has an accepted solution."},
    "forum.solution_yours": {"es": "{by} aceptó su respuesta como la solución de «{title}».",
                             "en": "{by} accepted your reply as the solution of “{title}”."},
    "market.order_status": {
        "es": "Su pedido pasó a {status}.", "en": "Your order is now {status}."},
    "governance.proposal_opened": {
        "es": "Nueva votación en {org_name}: «{title}». Vote del {opens_on} al {closes_on}.",
        "en": "New vote in {org_name}: “{title}”. Vote from {opens_on} to {closes_on}."},
    "governance.proposal_cancelled": {
        "es": "Se canceló la votación «{title}».", "en": "The vote “{title}” was cancelled."},
    "governance.proposal_decided": {
        "es": "Resultado de «{title}»: ganó «{winner}» con {votes} votos; votaron {turnout} "
              "de {electorate} socios.",
        "en": "Result of “{title}”: “{winner}” won with {votes} votes; {turnout} of "
              "{electorate} members voted."},
    "governance.proposal_tied": {
        "es": "«{title}» terminó en empate; votaron {turnout} de {electorate} socios.",
        "en": "“{title}” ended in a tie; {turnout} of {electorate} members voted."},
    "governance.proposal_no_quorum": {
        "es": "«{title}» no alcanzó el quórum: votaron {turnout} de {electorate} socios y se "
              "necesitaban {needed}.",
        "en": "“{title}” did not reach its quorum: {turnout} of {electorate} members voted, "
              "{needed} were needed."},
    "governance.proposal_no_votes": {
        "es": "Nadie votó en «{title}».", "en": "Nobody voted on “{title}”."},
    "governance.ratings_enabled": {
        "es": "Por la votación «{title}», los compradores pueden calificar a la cooperativa.",
        "en": "By the vote “{title}”, buyers may rate the cooperative."},
    "governance.ratings_disabled": {
        "es": "Por la votación «{title}», la cooperativa ya no recibe ni muestra calificaciones.",
        "en": "By the vote “{title}”, the cooperative no longer takes or shows ratings."},
    "governance.sharing_enabled": {
        "es": "Por la votación «{title}», la cooperativa comparte sus cifras conjuntas con "
              "{recipient} (solo de los socios que lo consientan).",
        "en": "By the vote “{title}”, the cooperative shares its pooled figures with "
              "{recipient} (only of the members who consent)."},
    "governance.sharing_disabled": {
        "es": "Por la votación «{title}», la cooperativa deja de compartir sus cifras conjuntas "
              "con {recipient}.",
        "en": "By the vote “{title}”, the cooperative stops sharing its pooled figures with "
              "{recipient}."},
}

STATUS: dict[str, dict[str, str]] = {
    "accepted": {"es": "aceptado", "en": "accepted"},
    "rejected": {"es": "rechazado", "en": "rejected"},
    "ready": {"es": "listo para entregar", "en": "ready"},
    "completed": {"es": "completado", "en": "completed"},
    "cancelled": {"es": "cancelado", "en": "cancelled"},
    "expired": {"es": "vencido", "en": "expired"},
}


def text_of(kind: str, data: dict[str, Any], lang: str) -> str:
    template = TEXTS.get(kind, {}).get(lang)
    if template is None:
        return kind
    # 10.0 reads "10": numbers as people write them.
    values: dict[str, Any] = {k: int(v) if isinstance(v, float) and v.is_integer() else v
                              for k, v in data.items()}
    if "status" in values:
        status = str(values["status"])
        values["status"] = STATUS.get(status, {}).get(lang, status)
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        return kind
