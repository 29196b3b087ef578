"""Spanish and English texts of the marketplace's errors and notifications."""

from __future__ import annotations

from server.i18n import Words

MESSAGES: dict[str, dict[str, str]] = {
    "currency_unknown": {"en": "Not an ISO 4217 currency code.",
                         "es": "No es un código de moneda ISO 4217."},
    "species_unknown": {"en": "No species {species} in the catalog.",
                        "es": "No existe la especie {species} en el catálogo."},
    "org_unknown": {"en": "No organization {id}.", "es": "No existe la organización {id}."},
    "port_unknown": {"en": "No port {id}.", "es": "No existe el puerto {id}."},
    "zone_unknown": {"en": "No zone {id}.", "es": "No existe la zona {id}."},
    "fish_needs": {"en": "A fish listing needs {field}.",
                   "es": "Un anuncio de pescado necesita {field}."},
    "not_for_fish": {"en": "Only goods and services have a category.",
                     "es": "Solo los bienes y servicios tienen categoría."},
    "category_required": {"en": "Goods and services need a category.",
                          "es": "Los bienes y servicios necesitan una categoría."},
    "unit_not_for_kind": {"en": "A {kind} listing is sold by: {units}.",
                          "es": "Un anuncio de tipo {kind} se vende por: {units}."},
    "whole_units": {"en": "Sold in {unit}: a whole number.",
                    "es": "Se vende en {unit}: debe ser un número entero."},
    "too_precise": {"en": "At most {places} decimals.", "es": "Como máximo {places} decimales."},
    "location_required": {"en": "Give a pickup port or a location.",
                          "es": "Indique un puerto de entrega o una ubicación."},
    "listing_window_too_long": {"en": "A listing is available for at most {days} days.",
                        "es": "Un anuncio puede estar disponible como máximo {days} días."},
    "until_in_past": {"en": "The end of availability is in the past.",
                      "es": "El fin de la disponibilidad ya pasó."},
    "until_before_from": {"en": "Availability ends before it starts.",
                          "es": "La disponibilidad termina antes de empezar."},
    "seller_org_kind": {"en": "Fish is sold by cooperatives; this organization is a {kind}.",
                        "es": "El pescado lo venden cooperativas; esta organización es de tipo {kind}."},
    "org_required": {"en": "You belong to several organizations: say which one sells.",
                     "es": "Pertenece a varias organizaciones: indique cuál vende."},
    "catches_only_fish": {"en": "Only fish listings come from logged catches.",
                          "es": "Solo los anuncios de pescado vienen de capturas registradas."},
    "catch_unknown": {"en": "No catch {id} of yours in this cooperative.",
                      "es": "No tiene la captura {id} en esta cooperativa."},
    "catch_not_for_sale": {
        "en": "Catch {id} was logged as {disposition}: only catches kept for sale can be offered.",
        "es": "La captura {id} se registró como {disposition}: solo se ofrecen capturas "
              "guardadas para la venta."},
    "catch_species_mismatch": {"en": "Catch {id} is {catch}, not {listing}.",
                               "es": "La captura {id} es {catch}, no {listing}."},
    "catch_has_no_count": {"en": "Catch {id} has no piece count: it cannot back a listing by the piece.",
                           "es": "La captura {id} no tiene número de piezas: no respalda un anuncio "
                                 "por pieza."},
    "quantity_exceeds_catches": {
        "en": "The linked catches have {available} {unit} left to offer.",
        "es": "A las capturas vinculadas les quedan {available} {unit} por ofrecer."},
    "quantity_below_committed": {
        "en": "{committed} {unit} are already ordered or sold.",
        "es": "Ya hay {committed} {unit} pedidos o vendidos."},
    "listing_not_yours": {"en": "Only the seller changes a listing.",
                          "es": "Solo quien vende cambia un anuncio."},
    "listing_final": {"en": "This listing is {state}: it can no longer change.",
                      "es": "Este anuncio está {state}: ya no puede cambiar."},
    "listing_unknown": {"en": "No listing {id}.", "es": "No existe el anuncio {id}."},
    "listing_not_available": {"en": "This listing is {state}: it takes no orders.",
                              "es": "Este anuncio está {state}: no acepta pedidos."},
    "listing_not_yet_available": {"en": "This listing takes orders from {at}.",
                                  "es": "Este anuncio acepta pedidos desde {at}."},
    "own_listing": {"en": "You cannot order from your own listing.",
                    "es": "No puede pedir de su propio anuncio."},
    "insufficient_stock": {"en": "Only {available} {unit} are available.",
                           "es": "Solo hay {available} {unit} disponibles."},
    "idempotency_key_missing": {"en": "Send an Idempotency-Key header (a new one per order).",
                                "es": "Envíe la cabecera Idempotency-Key (una nueva por pedido)."},
    "idempotency_key_invalid": {"en": "An Idempotency-Key is 1 to 255 visible ASCII characters.",
                                "es": "Una Idempotency-Key tiene de 1 a 255 caracteres ASCII "
                                      "visibles."},
    "idempotency_key_reused": {
        "en": "This Idempotency-Key was used for a different order.",
        "es": "Esta Idempotency-Key ya se usó para otro pedido."},
    "buyer_org_not_yours": {"en": "You buy for an organization you are an active member of.",
                            "es": "Compra para una organización de la que es miembro activo."},
    "illegal_transition": {"en": "An order {from_status} cannot become {to_status}.",
                           "es": "Un pedido {from_status} no puede pasar a {to_status}."},
    "order_expired": {"en": "This order expired at {at}.", "es": "Este pedido venció el {at}."},
    "not_your_step": {"en": "Only {party} can make this order {to_status}.",
                      "es": "Solo {party} puede pasar este pedido a {to_status}."},
    "order_not_completed": {"en": "Only a completed order can be rated.",
                            "es": "Solo se califica un pedido completado."},
    "already_rated": {"en": "This order is already rated.", "es": "Este pedido ya se calificó."},
    "price_range": {"en": "min_price is above max_price.",
                    "es": "min_price es mayor que max_price."},
    "search_bbox_invalid": {"en": "A bbox is minLon,minLat,maxLon,maxLat within -180..180 and -90..90.",
                     "es": "Un bbox es minLon,minLat,maxLon,maxLat dentro de -180..180 y -90..90."},
    "too_many_saved_searches": {"en": "At most {max} saved searches.",
                                "es": "Como máximo {max} búsquedas guardadas."},
    "photo_type": {"en": "A photo is JPEG, PNG or WebP.",
                   "es": "Una foto es JPEG, PNG o WebP."},
    "photo_unreadable": {"en": "This is not a readable {type} image.",
                         "es": "No es una imagen {type} legible."},
    "photo_too_large": {"en": "A photo is at most {max_bytes} bytes and {max_pixels} pixels.",
                        "es": "Una foto tiene como máximo {max_bytes} bytes y {max_pixels} píxeles."},
    "too_many_photos": {"en": "At most {max} photos per listing.",
                        "es": "Como máximo {max} fotos por anuncio."},
}

# Words put into the messages above, in the caller's language (server.i18n.Words).
PARTY = {"buyer": {"en": "the buyer", "es": "quien compra"},
         "seller": {"en": "the seller", "es": "quien vende"}}
STATE = {
    "placed": {"en": "placed", "es": "realizado"}, "accepted": {"en": "accepted", "es": "aceptado"},
    "ready": {"en": "ready", "es": "listo"}, "completed": {"en": "completed", "es": "completado"},
    "rejected": {"en": "rejected", "es": "rechazado"},
    "cancelled": {"en": "cancelled", "es": "cancelado"}, "expired": {"en": "expired", "es": "vencido"},
    "rated": {"en": "rated", "es": "calificado"},
    "active": {"en": "active", "es": "activo"}, "paused": {"en": "paused", "es": "en pausa"},
    "closed": {"en": "closed", "es": "cerrado"},
}
UNIT = {"kg": {"en": "kg", "es": "kg"}, "piece": {"en": "pieces", "es": "piezas"},
        "hour": {"en": "hours", "es": "horas"}, "job": {"en": "jobs", "es": "trabajos"}}


def state(name: str) -> Words:
    return Words(STATE.get(name, {"en": name, "es": name}))


def party(name: str) -> Words:
    return Words(PARTY[name])


def unit(name: str) -> Words:
    return Words(UNIT.get(name, {"en": name, "es": name}))
