"""Spanish and English texts of the reports domain's message codes."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "not_a_cooperative": {"en": "{id} is not a cooperative.", "es": "{id} no es una cooperativa."},
    "jurisdiction_required": {
        "en": "Give the authority's cooperatives, its region, or both.",
        "es": "Indique las cooperativas de la autoridad, su región, o ambas."},
    "outside_jurisdiction": {
        "en": "Outside the authority's jurisdiction.",
        "es": "Fuera de la jurisdicción de la autoridad."},
    "already_registered": {"en": "Already registered.", "es": "Ya está registrado."},
    "unknown_format": {"en": "Unknown report format; use one of: {choices}.",
                       "es": "Formato de informe desconocido; use uno de: {choices}."},
    "unknown_option": {"en": "Unknown option {option}.", "es": "Opción desconocida: {option}."},
    "invalid_choice": {"en": "Use one of: {choices}.", "es": "Use uno de: {choices}."},
    "invalid_timezone": {"en": "Not a time zone name (IANA, e.g. America/Mazatlan).",
                         "es": "No es un nombre de zona horaria (IANA, p. ej. America/Mazatlan)."},
    "invalid_cron": {
        "en": "Not a schedule: use five cron fields, e.g. \"0 6 * * *\" (every day at 06:00).",
        "es": "No es un horario: use cinco campos cron, p. ej. \"0 6 * * *\" (cada día a las 06:00)."},
    "endpoint_not_https": {"en": "The endpoint must be an https:// URL.",
                           "es": "El destino debe ser una URL https://."},
    "endpoint_invalid": {"en": "Not a valid endpoint URL.", "es": "No es una URL de destino válida."},
    "endpoint_has_credentials": {
        "en": "Do not put credentials in the URL; pushes are signed with the subscription's secret.",
        "es": "No ponga credenciales en la URL; los envíos se firman con el secreto de la suscripción."},
    "endpoint_has_fragment": {"en": "The endpoint URL must not have a #fragment.",
                              "es": "La URL de destino no debe llevar #fragmento."},
    "too_much_work": {
        "en": "{count} runs are owed, more than {max} at once: give period_start, or let the "
              "worker (or `cardumen reports run`) make them.",
        "es": "Se deben {count} informes, más de {max} a la vez: indique period_start, o deje "
              "que los haga el proceso de tareas (o `cardumen reports run`)."},
    "push_url_without_push": {"en": "push_url is only for push delivery.",
                              "es": "push_url solo aplica a la entrega por envío (push)."},
    "period_inverted": {"en": "The period ends before it starts.",
                        "es": "El periodo termina antes de empezar."},
    "period_empty": {"en": "The period is empty: its end must come after its start.",
                     "es": "El periodo está vacío: su fin debe ser posterior a su inicio."},
    "period_not_closed": {"en": "That period has not ended yet.",
                          "es": "Ese periodo aún no termina."},
    "period_misaligned": {"en": "That period starts on {expected}.",
                          "es": "Ese periodo empieza el {expected}."},
    "period_too_long": {"en": "Ask for at most {max} days at once.",
                        "es": "Pida como máximo {max} días a la vez."},
    "before_subscription": {"en": "The subscription starts on {starts_on}.",
                            "es": "La suscripción empieza el {starts_on}."},
    "not_an_authority_member": {"en": "{id} is not a member.", "es": "{id} no es miembro."},
    "not_acknowledgeable": {"en": "Only the receiving authority acknowledges a run.",
                            "es": "Solo la autoridad destinataria acusa recibo de un informe."},
    "delivery_not_failed": {"en": "Only a failed push can be retried.",
                            "es": "Solo se puede reintentar un envío fallido."},
    "subscription_inactive": {"en": "The subscription is paused.",
                              "es": "La suscripción está en pausa."},
}
