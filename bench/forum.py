"""Forum search at scale: 100k threads, 1M posts, words typed by fishers, over HTTP.

    .venv/bin/python bench/forum.py                                     # the issue's run
    .venv/bin/python bench/forum.py --smoke                             # 2,000 threads, 20,000 posts
    .venv/bin/python bench/forum.py --keep-db                           # keep the loaded database ...
    .venv/bin/python bench/forum.py --reuse-db cardumen_bench_XXXXXXXX  # ... and measure it again

One throwaway database (migrated, catalog seeded): a cooperative at each of the 20 seed
ports with an admin and ``--members`` fishers each (bench/market.py's ``make_world``,
demo password), then ``--threads`` threads and ``--posts`` posts of Spanish text made
from templates and word lists of small-scale fisheries (gear and boats, markets and
prices, permits, sea and weather, safety, ideas), with Zipf-like word frequencies,
authors who type without accents or with slips, a skewed number of replies per thread,
10 % cooperative-only threads, 30 % with a point on the coast, 20 % solved, some hidden
posts, three years of dates. Rows are made as server/forum/threads.py makes them
(``markup.render`` and ``markup.excerpt``; PostgreSQL computes each post's generated
``search`` vector during the COPY), loaded with COPY in creation order with the GIN
indexes built after it; then the service's own ``threads.refresh_search`` for every
thread and ``words.remember`` for every post, and ``VACUUM ANALYZE``.

Timed, each phase after a ``CHECKPOINT`` and the wait for other runs and an idle machine:

  project      ``GET /api/v1/forum/threads?q=...&limit=20`` (some with category, species,
               solved or a radius around a port) as a fisher of one cooperative (so
               visibility applies), ``--clients`` threads with a keep-alive connection
               each, on ``cardumen serve`` (gunicorn) on loopback;
  project sql  the statements ``server.forum.search.search`` sends for the same searches
               (the moderator check, the word expansion, the search), caught on their way
               to psycopg and replayed through psycopg, a transaction a search, prepared
               as the server prepares them: the project without HTTP or Python;
  raw          the simplest hand-written SQL with the same answer on the same tables
               (the design, read from the schema, says which columns hold a thread's
               words), with the tsquery the project's expansion made;
  sql custom   when the server prepares: the project's statements unprepared (custom
               plans), to show what the generic plan costs;
  raw posts    the question asked post by post: visible posts ``@@`` the tsquery, the
               best post per thread by ts_rank over its age, ``LIMIT 20``.

p50/p95/p99 overall and per query class, requests/s, CPU split, the ratio project/raw
and the target (p95 < 50 ms over HTTP). Untimed checks first: threads made again through
the API get the loaded rows' vectors, html, excerpts and thread columns; the first
``--check`` searches give the same thread ids in the same order through the API and the
raw query.

The script exits 0 either way: it is a measurement. See bench/README.md.
"""

from __future__ import annotations

import argparse
import bisect
import concurrent.futures
import itertools
import math
import multiprocessing
import os
import random
import re
import secrets
import signal
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import orjson
import psycopg

if __package__ or TYPE_CHECKING:
    from bench import _common as common
    from bench import market
else:  # run as a script: bench/ is sys.path[0]
    import _common as common
    import market  # puts the repository first on sys.path (bench/exports.py shadows ``exports``)

    sys.path.insert(0, str(common.ROOT))

TARGET_MS = 50.0  # the search's p95 over HTTP (issue 6)
THREADS = "/api/v1/forum/threads"
PAGE = 20  # the search's limit (the API's default)
SOURCES = ("server/forum",)  # what ``code_state`` digests
SEARCHER_PORT = "Mazatlán"  # the searching fisher's cooperative
DAYS = 3 * 365  # the forum's age
RECENCY_S = 60 * 86400.0  # server/forum/search.py RECENCY_DAYS, in seconds (the raw query's)

# --- words ------------------------------------------------------------------------------
# Each list is most talked about first: a draw takes the i-th item with weight
# 1 / (i + 1), so the first words of a list are common and the last ones rare.

# (singular, plural, ASFIS code, gender)
SPECIES: tuple[tuple[str, str, str, str], ...] = (
    ("camarón", "camarones", "PNV", "m"), ("pulpo", "pulpos", "OCZ", "m"),
    ("huachinango", "huachinangos", "LWP", "m"), ("jaiba", "jaibas", "KLI", "f"),
    ("langosta", "langostas", "NUU", "f"), ("pargo", "pargos", "LJS", "m"),
    ("sierra", "sierras", "SIE", "f"), ("robalo", "robalos", "JPV", "m"),
    ("tiburón", "tiburones", "SKH", "m"), ("dorado", "dorados", "DOL", "m"),
    ("calamar", "calamares", "GIS", "m"), ("lisa", "lisas", "MUF", "f"),
    ("mero", "meros", "GPR", "m"), ("ostión", "ostiones", "OYR", "m"),
    ("atún", "atunes", "YFT", "m"), ("corvina", "corvinas", "WEW", "f"),
    ("almeja", "almejas", "SCH", "f"), ("cazón", "cazones", "CTK", "m"),
    ("mojarra", "mojarras", "EXZ", "f"), ("jurel", "jureles", "YTC", "m"),
    ("callo de hacha", "callos de hacha", "TQM", "m"), ("lenguado", "lenguados", "YSF", "m"),
    ("sardina", "sardinas", "CHP", "f"), ("caracol", "caracoles", "COO", "m"),
    ("pámpano", "pámpanos", "POM", "m"), ("cabrilla", "cabrillas", "MKR", "f"),
    ("abulón", "abulones", "HJV", "m"), ("pepino de mar", "pepinos de mar", "JCF", "m"),
    ("erizo", "erizos", "UYF", "m"), ("marlín", "marlines", "MLS", "m"),
    ("pez vela", "peces vela", "SFA", "m"), ("guitarra", "guitarras", "RBP", "f"),
    ("bagre", "bagres", "BEM", "m"), ("medregal", "medregales", "AMB", "m"),
    ("barrilete", "barriletes", "SKJ", "m"),
)
GEAR: tuple[tuple[str, str, str, str], ...] = (
    ("red agallera", "redes agalleras", "GNS", "f"), ("chinchorro", "chinchorros", "GNS", "m"),
    ("palangre", "palangres", "LLS", "m"), ("trampa", "trampas", "FIX", "f"),
    ("cimbra", "cimbras", "LLS", "f"), ("atarraya", "atarrayas", "FCN", "f"),
    ("línea de mano", "líneas de mano", "LHP", "f"), ("nasa", "nasas", "FPO", "f"),
    ("trasmallo", "trasmallos", "GTR", "m"), ("suripera", "suriperas", "MIS", "f"),
    ("curricán", "curricanes", "LTL", "m"), ("red de enmalle", "redes de enmalle", "GEN", "f"),
    ("arpón", "arpones", "HAR", "m"), ("compresor de buceo", "compresores de buceo", "MDV", "m"),
)
PARTS: tuple[tuple[str, str], ...] = (
    ("motor", "m"), ("propela", "f"), ("bomba de agua", "f"), ("carburador", "m"),
    ("marcha", "f"), ("batería", "f"), ("impulsor", "m"), ("manguera de gasolina", "f"),
    ("filtro de gasolina", "m"), ("casco", "m"), ("hielera", "f"), ("pata del motor", "f"),
    ("quilla", "f"), ("timón", "m"), ("sonda", "f"), ("malacate", "m"),
    ("bomba de achique", "f"), ("cable del acelerador", "m"), ("switch de encendido", "m"),
)
FAULTS = ("no arranca", "se calienta mucho", "pierde fuerza", "tira aceite",
          "se apaga en marcha", "hace un ruido raro", "echa humo blanco", "no agarra velocidad",
          "vibra demasiado", "se le mete agua", "gasta mucha gasolina", "no jala con carga")
BRANDS = ("Yamaha", "Suzuki", "Evinrude", "Mercury", "Tohatsu", "Honda", "Johnson")
HP = ("40", "75", "60", "115", "15", "25", "48", "90")
BUYERS = ("el coyote", "la congeladora", "los intermediarios", "la planta", "el comprador",
          "los restaurantes", "la pescadería", "la empacadora", "la central de abastos")
PAPERS = ("el permiso de pesca", "la veda", "la concesión", "el aviso de arribo",
          "la talla mínima", "el RNPA", "la matrícula de la panga", "el certificado de seguridad",
          "el despacho en la capitanía", "la bitácora de pesca", "el apoyo de Bienpesca",
          "la credencial de pescador", "la cuota de captura", "el registro de la cooperativa",
          "la renovación de la concesión")
AGENCIES = ("CONAPESCA", "la capitanía de puerto", "la Marina", "la oficina de pesca", "Profepa",
            "la SADER", "el INAPESCA", "la Semarnat")
WEATHER = ("la tormenta", "el norte", "el huracán", "la marea roja", "el mar de fondo",
           "el viento", "el oleaje", "la corriente", "las aguas malas", "el agua fría",
           "la neblina", "el sargazo", "la marejada", "la lluvia", "el agua turbia",
           "la luna llena", "el calor")
SAFETY = ("los chalecos salvavidas", "el radio", "las bengalas", "el botiquín", "el extintor",
          "la baliza", "el silbato", "la lámpara", "el GPS", "las luces de navegación",
          "el espejo de señales")
IDEAS = ("la limpieza de playa", "las redes fantasma", "una caja de ahorro", "la venta directa",
         "el turismo", "la acuacultura", "una granja de ostión", "la capacitación",
         "una marca colectiva", "la certificación", "una aplicación en el celular",
         "un cuarto frío de la cooperativa", "un fondo de emergencia", "la trazabilidad",
         "el reciclaje de redes viejas", "el precio justo")
PLACES = ("el muelle", "la bocana", "el estero", "la barra", "la bahía", "el bajo", "la isla",
          "la punta", "la laguna", "mar abierto", "el canal", "los manglares", "el arrecife",
          "la playa")
WHEN = ("hace una semana", "ayer", "el lunes", "la temporada pasada", "que lo saqué del agua",
        "el viernes", "hace un mes", "la última salida")
NAMES = ("Chuy", "Beto", "Lalo", "Güero", "Toño", "Pancho", "Memo", "Nacho", "Chava", "Paco",
         "Rigo", "doña Lupe", "don Ramón", "Efraín", "Joaquín", "Andrés", "Martín", "Juanita")
BOATS = ("la Guadalupana", "el Delfín", "la Niña Linda", "la Perla", "el Pelícano",
         "la Gaviota", "el Marlín Azul", "la Morena", "la Esperanza", "la Sirena", "el Capitán")
MONTHS = ("marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
          "noviembre", "diciembre", "enero", "febrero")
DAYS_OF_WEEK = ("lunes", "martes", "viernes", "sábado", "domingo", "miércoles", "jueves")
PRICES = ("80", "100", "50", "120", "150", "60", "200", "35", "250", "300", "25", "400",
          "180", "90", "500", "650", "45", "1200", "70", "2500")
KILOS = ("50", "100", "20", "200", "30", "300", "500", "80", "150", "1000", "10", "1500")
NUMBERS = ("2", "3", "4", "5", "6", "8", "10", "15", "20", "30")

CATEGORIES = (("gear_boats", 25), ("markets_prices", 22), ("regulations_permits", 18),
              ("sea_weather", 15), ("safety", 10), ("ideas", 10))

TITLES: dict[str, tuple[str, ...]] = {
    "gear_boats": (
        "Motor {marca} {hp} {falla}", "¿Dónde reparan {parte} en {puerto}?",
        "Problema con {la_parte} de la panga", "{El_arte} para {esp}: ¿cuál conviene?",
        "Se me rompió {el_arte}", "{Parte} {falla}", "¿Vale la pena un motor de cuatro tiempos?",
        "Recomienden mecánico en {puerto}", "¿Dónde compran {artes} en {puerto}?",
        "Panga de fibra de vidrio con fisuras"),
    "markets_prices": (
        "Precio de {el_esp} en {puerto}", "¿A cómo están pagando {el_esp}?",
        "Nos quieren pagar muy poco por {el_esp}", "El hielo está carísimo en {puerto}",
        "Vender {esp} sin intermediarios", "Compradores de {esp} en {puerto}",
        "¿Conviene congelar {el_esp}?", "La gasolina ya no sale", "Pagos atrasados de {comprador}"),
    "regulations_permits": (
        "Veda de {esp} {anio}", "¿Qué piden para {tramite}?", "Decomiso de {esp} en {puerto}",
        "Talla mínima de {el_esp}", "Problemas con {agencia}", "Renovar {tramite}",
        "¿Cuándo empieza la veda de {el_esp}?", "Multa por zona de refugio",
        "Permiso de {esp} en {puerto}"),
    "sea_weather": (
        "{Clima} en {puerto}", "Pronóstico para {puerto} esta semana",
        "¿Cómo está el mar en {puerto}?", "No hay {esp} por el agua caliente",
        "Marea roja en {lugar} de {puerto}", "¿Alguien salió con {clima}?",
        "Viene {clima} para el fin de semana"),
    "safety": (
        "Accidente en {lugar} de {puerto}", "¿Dónde compran {seguro}?",
        "Revisión de {seguro} en el despacho", "Compañero desaparecido en {puerto}",
        "Consejos para salir con mal tiempo", "Se volteó una panga en {puerto}",
        "Curso de primeros auxilios"),
    "ideas": (
        "Propuesta: {idea}", "{Idea} en {puerto}", "Redes fantasma en {lugar}",
        "Ideas para vender mejor {el_esp}", "¿Cómo empezar {idea}?",
        "Los jóvenes ya no quieren pescar", "Una app para el precio del día"),
}

SENTENCES: dict[str, tuple[str, ...]] = {
    "gear_boats": (
        "El motor de la panga {falla} desde {cuando}.",
        "Tengo un {marca} de {hp} caballos que {falla}.",
        "Ya le cambié {la_parte} y sigue igual.",
        "¿Alguien sabe dónde consigo {la_parte} para un {marca} {hp} en {puerto}?",
        "Se rompió {el_arte} en {lugar} y no sé si conviene arreglar o comprar otro.",
        "Para {esps} usamos {artes} de {numero} pulgadas.",
        "El mecánico de {puerto} cobra {precio} pesos nomás por revisar el motor.",
        "Revisa la bomba de agua, casi siempre es el impulsor.",
        "A mí me pasó lo mismo con {barco}, era el carburador sucio.",
        "La fibra de vidrio del casco se está abriendo por la quilla.",
        "Con {artes} de monofilamento se pierde más que con las de hilo.",
        "Cambien las bujías cada temporada y limpien el filtro de gasolina.",
        "Con agua salada todo se oxida, hay que enjuagar el motor con agua dulce.",
        "Remendar {el_arte} lleva {numero} días entre dos personas.",
        "La propela se dobló al pegar con una piedra en {lugar}.",
        "Un motor de cuatro tiempos gasta menos pero la refacción es más cara.",
        "La batería no aguanta la carga y la sonda se apaga.",
        "Le pusimos plomos nuevos a {el_arte} y ya no se enreda.",
    ),
    "markets_prices": (
        "En {puerto} están pagando {el_esp} a {precio} pesos el kilo.",
        "{Comprador} nos quiere pagar {precio} el kilo de {esp} de primera.",
        "El precio de {el_esp} bajó mucho esta semana.",
        "¿A cómo está {el_esp} en {puerto}?",
        "Sin hielo no hay manera de aguantar el producto hasta que llegue el comprador.",
        "Vendimos {kilos} kilos de {esp} directo a los restaurantes.",
        "El hielo subió a {precio} pesos la barra.",
        "La gasolina ya está en {numero} pesos más que el mes pasado y no sale la cuenta.",
        "Nos pagan a los {numero} días y mientras no hay con qué salir.",
        "Conviene juntarnos entre cooperativas para vender sin intermediarios.",
        "La talla chica la pagan a mitad de precio.",
        "Para exportar piden factura y certificado sanitario.",
        "{Comprador} de {puerto} paga mejor pero quiere producto limpio y con hielo.",
        "Si congelamos {el_esp} podemos esperar a que suba el precio.",
        "El kilo de {esp} fileteado se vende al doble en la ciudad.",
        "Nadie quiere pagar la pesca de la cooperativa al precio justo.",
    ),
    "regulations_permits": (
        "¿Cuándo empieza la veda de {el_esp} este año?",
        "Dicen que la veda de {esp} arranca en {mes}.",
        "Nos vence {tramite} en {mes} y no sabemos qué papeles llevar.",
        "En {agencia} nos pidieron {tramite} otra vez.",
        "Los inspectores decomisaron {kilos} kilos de {esp} por talla chica.",
        "La multa por pescar en zona de refugio es muy alta.",
        "Hay que entregar el aviso de arribo cada vez que desembarcamos.",
        "El trámite de {tramite} tarda como {numero} semanas.",
        "¿Alguien ha renovado el permiso de {esp} en línea?",
        "Sin permiso no te compran en la planta.",
        "Ya salió en el Diario Oficial la talla mínima de {el_esp}.",
        "{Agencia} no contesta y la temporada ya empezó.",
        "Piden la matrícula, el permiso y la lista de pescadores de la cooperativa.",
        "El apoyo de Bienpesca llega tarde y no alcanza para la gasolina.",
    ),
    "sea_weather": (
        "Viene {clima} para el fin de semana, mejor no salir.",
        "Tenemos {clima} en {lugar} desde el {dia}.",
        "Con {clima} no se puede tirar {el_arte}.",
        "La marea roja cerró la venta de {esps} en {puerto}.",
        "El agua está muy caliente y {el_esp} se fue para afuera.",
        "¿Alguien sabe cómo viene el pronóstico para {puerto}?",
        "Con la luna llena no pica {el_esp}.",
        "El viento del norte levantó olas de {numero} metros.",
        "Las aguas malas están rompiendo las redes en {lugar}.",
        "Desde que llegó el sargazo no hay {esp} en la orilla.",
        "{Clima} nos agarró a medio camino y tuvimos que regresar.",
        "La corriente se llevó {el_arte} hasta {lugar}.",
    ),
    "safety": (
        "Siempre lleven {seguro} aunque sea una salida corta.",
        "Se volteó una panga en {lugar} y gracias a {seguro} se salvaron.",
        "La Marina revisa que traigamos {seguro} en cada despacho.",
        "¿Dónde venden {seguro} certificados en {puerto}?",
        "Hay que avisar por el canal 16 antes de salir.",
        "Un compañero se cayó al agua jalando {el_arte}.",
        "Con el calor hay que tomar mucha agua en la lancha.",
        "Nos perdimos por la neblina y el GPS nos regresó al puerto.",
        "Falta capacitación en primeros auxilios en la cooperativa.",
        "El extintor de la panga ya estaba vencido.",
        "Revisen {seguro} antes de cada temporada.",
        "La búsqueda duró {numero} días hasta que lo encontraron en {lugar}.",
    ),
    "ideas": (
        "Propongo que hagamos {idea} entre todas las cooperativas.",
        "En {puerto} ya tienen {idea} y les está funcionando.",
        "¿Qué les parece si juntamos para {idea}?",
        "Las redes fantasma matan {esps} y tortugas, hay que sacarlas.",
        "Podemos recoger las redes viejas y venderlas para reciclar.",
        "Con {idea} los jóvenes se quedarían en la pesca.",
        "Una aplicación para avisar el precio del día nos ayudaría a no malbaratar.",
        "El turismo de pesca deportiva deja más que la pesca de {esp}.",
        "Hicimos limpieza de playa en {lugar} y sacamos {kilos} kilos de basura.",
        "Si vendemos con una marca colectiva nos pagarían mejor {el_esp}.",
    ),
}
REPLIES = (
    "Gracias, me sirvió mucho.", "A nosotros nos pasó igual en {puerto}.",
    "Yo tuve el mismo problema el año pasado.", "Pregunta en la cooperativa de {puerto}, ellos saben.",
    "Eso es cierto, compa.", "No estoy de acuerdo, aquí en {puerto} es diferente.",
    "¿Ya lo resolviste?", "Te mando mensaje con el número del mecánico.",
    "Lo mismo dijeron el año pasado y no pasó nada.", "Hay que organizarnos.",
    "Saludos desde {puerto}.", "Muy buena información, {nombre}.",
    "Yo le pregunté a {nombre} y dice que sí.", "Depende de la temporada.",
    "Ojalá lo arreglen pronto.", "Eso pasa por no darle mantenimiento.",
    "Cuídense mucho allá afuera.", "Yo conozco a alguien en {puerto} que lo vende más barato.",
    "Aquí seguimos esperando respuesta.", "Eso ya lo habíamos platicado en la asamblea.",
)
OPENERS = ("", "", "Buenos días compañeros.", "Hola a todos.", "Buenas tardes.", "Qué tal, raza.",
           "Una pregunta.")
CLOSERS = ("", "", "Gracias de antemano.", "Saludos.", "Cualquier ayuda sirve.", "Quedo atento.",
           "Cuídense.")

UNACCENT = str.maketrans("áéíóúüÁÉÍÓÚÜ", "aeiouuAEIOUU", "¿¡")
_SLOT = re.compile(r"\{(\w+)\}")


def _weights(n: int, s: float = 1.0) -> list[float]:
    """Cumulative Zipf weights of a list of n items (for ``random.choices(cum_weights=)``)."""
    return list(itertools.accumulate(1.0 / (i + 1) ** s for i in range(n)))


class Zipf:
    """Draws from a list, the i-th item with weight 1 / (i + 1) ** s."""

    def __init__(self, items: Sequence[Any], s: float = 1.0) -> None:
        self.items = list(items)
        self.cum = _weights(len(self.items), s)

    def __call__(self, rng: random.Random) -> Any:
        return self.items[bisect.bisect(self.cum, rng.random() * self.cum[-1])]


def _article(name: str, gender: str, plural: bool = False) -> str:
    return {("m", False): "el", ("f", False): "la", ("m", True): "los",
            ("f", True): "las"}[(gender, plural)] + " " + name


@dataclass(frozen=True)
class Author:
    id: uuid.UUID
    org_id: uuid.UUID
    unaccented: bool  # types without accents (and without ¿ ¡)
    lowercase: bool
    typo_rate: float  # share of longer words typed with a slip
    markdown: float  # share of posts written in Markdown


@dataclass
class Topic:
    """What a thread is about: its words come back in its replies."""

    category: str
    species: tuple[str, str, str, str]
    gear: tuple[str, str, str, str]
    part: tuple[str, str]
    port: str
    used_species: bool = False
    used_gear: bool = False


class Text:
    """Titles, opening posts and replies from the templates, in a topic."""

    def __init__(self, ports: Sequence[str]) -> None:
        self.species, self.gear, self.parts = Zipf(SPECIES, 0.9), Zipf(GEAR), Zipf(PARTS)
        self.ports = Zipf(ports, 0.6)
        self.lists = {k: Zipf(v) for k, v in {
            "falla": FAULTS, "marca": BRANDS, "hp": HP, "comprador": BUYERS, "tramite": PAPERS,
            "agencia": AGENCIES, "clima": WEATHER, "seguro": SAFETY, "idea": IDEAS,
            "lugar": PLACES, "cuando": WHEN, "nombre": NAMES, "barco": BOATS, "mes": MONTHS,
            "dia": DAYS_OF_WEEK, "precio": PRICES, "kilos": KILOS, "numero": NUMBERS,
            "anio": ("2026", "2025", "2024")}.items()}
        self.titles = {k: Zipf(v, 0.8) for k, v in TITLES.items()}
        self.sentences = {k: Zipf(v, 0.8) for k, v in SENTENCES.items()}
        self.replies, self.openers, self.closers = Zipf(REPLIES, 0.7), Zipf(OPENERS), Zipf(CLOSERS)
        self.categories = [c for c, _ in CATEGORIES]
        self.category_cum = list(itertools.accumulate(w for _, w in CATEGORIES))

    def topic(self, rng: random.Random, port: str | None) -> Topic:
        cat = rng.choices(self.categories, cum_weights=self.category_cum)[0]
        return Topic(cat, self.species(rng), self.gear(rng), self.parts(rng),
                     port or self.ports(rng))

    def _slot(self, rng: random.Random, t: Topic, name: str) -> str:
        key = name.lower()
        if key in ("esp", "esps", "el_esp"):
            sp = t.species if rng.random() < 0.75 else self.species(rng)
            t.used_species |= sp is t.species
            word = sp[1] if key == "esps" else sp[0]
            out = _article(sp[0], sp[3]) if key == "el_esp" else word
        elif key in ("arte", "artes", "el_arte"):
            g = t.gear if rng.random() < 0.7 else self.gear(rng)
            t.used_gear |= g is t.gear
            out = _article(g[0], g[3]) if key == "el_arte" else g[1] if key == "artes" else g[0]
        elif key in ("parte", "la_parte"):
            p = t.part if rng.random() < 0.7 else self.parts(rng)
            out = _article(*p) if key == "la_parte" else p[0]
        elif key == "puerto":
            out = t.port if rng.random() < 0.7 else self.ports(rng)
        else:
            out = self.lists[key](rng)
        return out[0].upper() + out[1:] if name[0].isupper() else out

    def fill(self, rng: random.Random, t: Topic, template: str) -> str:
        s = _SLOT.sub(lambda m: self._slot(rng, t, m.group(1)), template)
        return s[0].upper() + s[1:]

    def _some(self, rng: random.Random, t: Topic, draw: Zipf, n: int) -> list[str]:
        """n sentences of different templates (fewer if the draws keep repeating)."""
        seen: dict[str, None] = {}  # in draw order (a set's order changes between runs)
        for _ in range(4 * n):
            seen[draw(rng)] = None
            if len(seen) == n:
                break
        return [self.fill(rng, t, s) for s in seen]

    def title(self, rng: random.Random, t: Topic) -> str:
        return self.fill(rng, t, self.titles[t.category](rng))[:160]

    def opening(self, rng: random.Random, t: Topic) -> list[str]:
        out = [self.openers(rng)]
        out += self._some(rng, t, self.sentences[t.category], rng.choice((2, 3, 3, 4, 4, 5, 6)))
        out.append(self.closers(rng))
        return [s for s in out if s]

    def reply(self, rng: random.Random, t: Topic) -> list[str]:
        n = rng.choice((0, 1, 1, 2, 2, 3))
        out = [self.fill(rng, t, self.replies(rng))] if rng.random() < 0.6 or n == 0 else []
        out += self._some(rng, t, self.sentences[t.category], n) if n else []
        return out


def _slip(rng: random.Random, word: str) -> str:
    """A typing slip: a letter dropped, doubled, or two swapped."""
    i = rng.randrange(1, len(word) - 1)
    kind = rng.random()
    if kind < 0.4:
        return word[:i] + word[i + 1:]
    if kind < 0.7:
        return word[:i] + word[i] + word[i:]
    return word[:i - 1] + word[i] + word[i - 1] + word[i + 1:]


def body_of(rng: random.Random, a: Author, sentences: list[str]) -> tuple[str, str]:
    """(body, format): the sentences as the author types them."""
    if a.typo_rate:
        sentences = [re.sub(r"\w{5,}", lambda m: _slip(rng, m.group(0))
                            if rng.random() < a.typo_rate else m.group(0), s) for s in sentences]
    if a.unaccented:
        sentences = [s.translate(UNACCENT) for s in sentences]
    if a.lowercase:
        sentences = [s.lower() for s in sentences]
    if rng.random() < a.markdown:
        if len(sentences) >= 3 and rng.random() < 0.5:
            body = sentences[0] + "\n\n" + "\n".join("- " + s for s in sentences[1:])
        else:
            k = rng.randrange(len(sentences))
            sentences[k] = "**" + sentences[k].rstrip(".") + "**."
            body = " ".join(sentences)
            if rng.random() < 0.3:
                body += "\n\nMás información: [CONAPESCA](https://www.gob.mx/conapesca)"
        return body, "markdown"
    if len(sentences) >= 4 and rng.random() < 0.4:
        k = rng.randrange(1, len(sentences))
        return " ".join(sentences[:k]) + "\n\n" + " ".join(sentences[k:]), "plain"
    return " ".join(sentences), "plain"


# --- rows --------------------------------------------------------------------------------

THREAD_COLUMNS = ("id", "category", "author_id", "visible_org_id", "title", "species_codes",
                  "gear_codes", "location", "locked_at", "hidden_at", "reply_count",
                  "last_post_at", "created_at", "updated_at")
POST_COLUMNS = ("id", "thread_id", "author_id", "opening", "heading", "format", "body", "html",
                "excerpt", "useful_count", "created_at", "edited_at", "hidden_at")
_COPY_ESCAPE = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def _copy_field(v: Any) -> str:
    """One value in COPY's text format."""
    if v is None:
        return "\\N"
    if v is True or v is False:
        return "t" if v else "f"
    if isinstance(v, str):
        return v.translate(_COPY_ESCAPE)
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, list):
        return "{" + ",".join(v) + "}"
    return str(v)


def copy_line(values: Sequence[Any]) -> bytes:
    return ("\t".join(map(_copy_field, values)) + "\n").encode()


@dataclass
class Plan:
    """What the load makes, shared by the generating processes (forked)."""

    now: datetime
    seed: int
    text: Text
    authors: list[Author]
    by_org: dict[uuid.UUID, list[Author]]
    coops: list[uuid.UUID]  # for cooperative-only threads
    coop_cum: list[float]
    places: Any  # market.Places
    replies: list[int]  # per thread
    solve_p: float  # chance that a thread with a visible reply is solved (20 % of all)


_PLAN: Plan | None = None  # set before the pool forks


@dataclass
class Chunk:
    threads: list[tuple[float, bytes]]
    posts: list[tuple[float, bytes]]
    solutions: list[tuple[uuid.UUID, uuid.UUID, datetime]]
    mix: Counter[str]


def make_chunk(first: int, count: int) -> Chunk:
    """Threads first..first+count-1, their posts and their solutions (a fixed seed per
    thread, so the text does not depend on how the work was split)."""
    from shapely.geometry import Point

    from server.db import new_id
    from server.forum import markup

    plan = _PLAN
    assert plan is not None
    out = Chunk([], [], [], Counter())
    authors = Zipf(plan.authors, 0.7)
    for k in range(first, first + count):
        rng = random.Random(plan.seed * 1_000_003 + k)
        org = None
        if rng.random() < 0.10:
            org = plan.coops[bisect.bisect(plan.coop_cum, rng.random() * plan.coop_cum[-1])]
        pool = Zipf(plan.by_org[org], 0.7) if org else authors
        location, port = None, None
        if rng.random() < 0.30:
            p, lon, lat, _ = plan.places.draw(rng)
            location, port = f"SRID=4326;{Point(lon, lat).wkt}", p.name
        topic = plan.text.topic(rng, port)
        created = plan.now - timedelta(days=DAYS * (1 - math.sqrt(rng.random())))
        title = plan.text.title(rng, topic)
        n = plan.replies[k]
        # Replies come hours apart, then slower as a thread gets old; none after now.
        times, at = [], created
        for i in range(n):
            at += timedelta(hours=rng.expovariate(1 / (4 + i * 1.5)))
            times.append(at)
        if times and times[-1] > plan.now:
            span = (plan.now - created) / (times[-1] - created) * 0.999
            times = [created + (t - created) * span for t in times]
        thread_id = new_id()
        starter = pool(rng)
        posts: list[tuple[Any, ...]] = []
        sentences = plan.text.opening(rng, topic)
        visible: list[tuple[uuid.UUID, datetime]] = []
        for i in range(n + 1):
            a = starter if i == 0 else pool(rng)
            if i:
                sentences = plan.text.reply(rng, topic)
            body, fmt = body_of(rng, a, sentences)
            at = created if i == 0 else times[i - 1]
            hidden = at + timedelta(hours=rng.uniform(1, 48)) if i and rng.random() < 0.02 else None
            edited = at + timedelta(minutes=rng.uniform(2, 600)) if rng.random() < 0.03 else None
            post_id = new_id()
            useful = int(rng.paretovariate(1.5)) - 1 if rng.random() < 0.3 else 0
            posts.append((post_id, thread_id, a.id, i == 0, title if i == 0 else None, fmt, body,
                          markup.render(body, fmt), markup.excerpt(body, fmt), useful, at,
                          min(edited, plan.now) if edited else None,
                          min(hidden, plan.now) if hidden else None))
            out.mix[f"posts {fmt}"] += 1
            if a.unaccented:
                out.mix["posts typed without accents"] += 1
            if hidden:
                out.mix["posts hidden"] += 1
            elif i:
                visible.append((post_id, at))
        species = [topic.species[2]] if topic.used_species and rng.random() < 0.6 else []
        gear = [topic.gear[2]] if topic.used_gear and rng.random() < 0.4 else []
        hidden_thread = created + timedelta(days=1) if rng.random() < 0.005 else None
        locked = created + timedelta(days=rng.uniform(1, 30)) if rng.random() < 0.01 else None
        last = times[-1] if times else created
        out.threads.append((created.timestamp(), copy_line((
            thread_id, topic.category, starter.id, org, title, species, gear, location,
            min(locked, plan.now) if locked else None,
            min(hidden_thread, plan.now) if hidden_thread else None, len(visible), last, created,
            last))))
        out.posts.extend((p[10].timestamp(), copy_line(p)) for p in posts)
        # 20 % of all threads solved: a visible reply, the earlier ones more likely.
        if visible and rng.random() < plan.solve_p:
            sol, at = visible[min(len(visible) - 1, int(rng.expovariate(0.5)))]
            out.solutions.append((thread_id, sol, min(plan.now, at + timedelta(hours=rng.uniform(1, 72)))))
        out.mix["threads cooperative-only"] += org is not None
        out.mix["threads with a location"] += location is not None
        out.mix["threads hidden"] += hidden_thread is not None
        out.mix["threads locked"] += locked is not None
        out.mix[f"threads {topic.category}"] += 1
    return out


def reply_counts(threads: int, posts: int, seed: int) -> list[int]:
    """Replies per thread adding up to posts - threads: lognormal (median about 3, mean
    ``posts / threads - 1``), so many threads have 1 to 3 replies and a few hundreds."""
    rng = random.Random(seed + 7)
    total = posts - threads
    mean = total / threads
    sigma = 1.4
    mu = math.log(max(mean, 0.01)) - sigma ** 2 / 2
    raw = [min(800.0, math.exp(rng.gauss(mu, sigma))) for _ in range(threads)]
    scale = total / max(1e-9, sum(raw))
    out = [int(x * scale + rng.random()) for x in raw]
    diff = total - sum(out)
    while diff:
        k = rng.randrange(threads)
        if diff > 0:
            out[k] += 1
            diff -= 1
        elif out[k] > 0:
            out[k] -= 1
            diff += 1
    return out


# --- the world and the load --------------------------------------------------------------

@dataclass
class Members:
    world: Any  # market.World
    rows: list[tuple[uuid.UUID, uuid.UUID, str, str]]  # (org, member, role, phone)

    def of(self, org: uuid.UUID, role: str) -> list[tuple[uuid.UUID, str]]:
        return [(m, ph) for o, m, r, ph in self.rows if o == org and r == role]


def make_members(db: common.BenchDB, per_coop: int) -> Members:
    """A cooperative at each seed port with an admin and ``per_coop`` fishers
    (bench/market.py's, found again on a reused database)."""
    world = market.make_world(db, per_coop, 0)
    with psycopg.connect(db.conninfo) as pg:
        rows = pg.execute("""
            SELECT ms.org_id, m.id, ms.role, m.phone FROM membership ms
            JOIN member m ON m.id = ms.member_id
            WHERE ms.org_id = ANY(%s) AND ms.status = 'active' ORDER BY m.phone""",
            (list(world.coops.values()),)).fetchall()
    return Members(world, [(r[0], r[1], r[2], r[3]) for r in rows])


def make_authors(members: Members, seed: int) -> list[Author]:
    """Every member of the cooperatives, most active first, with their typing habits."""
    rng = random.Random(seed + 3)
    rows = sorted(members.rows, key=lambda r: str(r[1]))
    rng.shuffle(rows)
    out = []
    for org, member, _, _ in rows:
        out.append(Author(member, org, rng.random() < 0.35, rng.random() < 0.2,
                          rng.choices((0.0, 0.01, 0.04), weights=(60, 30, 10))[0],
                          0.5 if rng.random() < 0.1 else 0.01))
    return out


def _blocks(lines: Iterator[bytes], size: int = 1 << 20) -> Iterator[bytes]:
    buf: list[bytes] = []
    n = 0
    for line in lines:
        buf.append(line)
        n += len(line)
        if n >= size:
            yield b"".join(buf)
            buf, n = [], 0
    if buf:
        yield b"".join(buf)


def load(db: common.BenchDB, members: Members, args: argparse.Namespace) -> dict[str, Any]:
    """Make the rows (``--jobs`` processes), COPY them in creation order, build the GIN
    index, set the solutions, fill the vocabulary, VACUUM ANALYZE; each step timed."""
    global _PLAN
    world = members.world
    authors = make_authors(members, args.seed)
    by_org: dict[uuid.UUID, list[Author]] = {}
    for a in authors:
        by_org.setdefault(a.org_id, []).append(a)
    coops = sorted(world.coops.items())
    replies = reply_counts(args.threads, args.posts, args.seed)
    with_reply = sum(1 for r in replies if r > 0)
    names = [n for chain in market.CHAINS for n in chain]
    ports = sorted(names, key=lambda n: -market.PORT_WEIGHT.get(n, 1.0))
    _PLAN = Plan(market._now(), args.seed, Text(ports), authors, by_org,
                 [org for _, org in coops],
                 list(itertools.accumulate(market.PORT_WEIGHT.get(n, 1.0) for n, _ in coops)),
                 market.Places(world.ports), replies,
                 min(1.0, 0.2 * len(replies) / max(1, with_reply)))
    step = 500
    firsts = list(range(0, args.threads, step))
    counts = [min(step, args.threads - f) for f in firsts]
    out: dict[str, Any] = {"jobs": args.jobs}
    t0 = time.perf_counter()
    if args.jobs > 1:
        ctx = multiprocessing.get_context("fork")
        with concurrent.futures.ProcessPoolExecutor(args.jobs, mp_context=ctx) as pool:
            chunks = list(pool.map(make_chunk, firsts, counts))
    else:
        chunks = [make_chunk(f, c) for f, c in zip(firsts, counts, strict=True)]
    thread_lines = sorted((x for c in chunks for x in c.threads), key=lambda x: x[0])
    post_lines = sorted((x for c in chunks for x in c.posts), key=lambda x: x[0])
    solutions = [s for c in chunks for s in c.solutions]
    mix: Counter[str] = Counter()
    for c in chunks:
        mix += c.mix
    del chunks
    out["made_s"] = time.perf_counter() - t0
    out["mix"] = dict(sorted(mix.items()))
    out["post_bytes"] = sum(len(x[1]) for x in post_lines)
    with psycopg.connect(db.conninfo) as conn:
        found = conn.execute("""
            SELECT DISTINCT i.relname, pg_get_indexdef(i.oid) FROM pg_index x
            JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
            JOIN pg_am am ON am.oid = i.relam
            JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY(x.indkey)
            WHERE t.relname IN ('forum_post', 'forum_thread') AND am.amname = 'gin'
              AND a.atttypid = 'tsvector'::regtype ORDER BY 1""").fetchall()
        if not found:
            raise RuntimeError("no GIN index on the forum's vectors: is migration 0013 there?")
        gins = [r[1] for r in found]
        if not args.gin_during_copy:
            for name, _ in found:
                conn.execute(f"DROP INDEX {name}")
            conn.commit()
        for table, cols, lines in (("forum_thread", THREAD_COLUMNS, thread_lines),
                                   ("forum_post", POST_COLUMNS, post_lines)):
            t0 = time.perf_counter()
            with conn.cursor() as cur, cur.copy(
                    f"COPY {table} ({', '.join(cols)}) FROM STDIN") as cp:
                for block in _blocks(x[1] for x in lines):
                    cp.write(block)
            conn.commit()
            out[f"{table}_s"] = time.perf_counter() - t0
        del thread_lines, post_lines
        t0 = time.perf_counter()
        conn.execute("CREATE TEMP TABLE bench_solution (thread_id uuid PRIMARY KEY, post_id uuid, "
                     "at timestamptz)")
        with conn.cursor() as cur, cur.copy("COPY bench_solution FROM STDIN") as cp:
            for sol in solutions:
                cp.write_row(sol)
        conn.execute("""UPDATE forum_thread t SET solution_post_id = s.post_id, solved_at = s.at
                        FROM bench_solution s WHERE t.id = s.thread_id""")
        conn.commit()
        out["solutions_s"] = time.perf_counter() - t0
        out["threads_s"] = refresh_threads(db)
        if not args.gin_during_copy:
            t0 = time.perf_counter()
            for sql in gins:
                conn.execute(sql)
            conn.commit()
            out["gin_s"] = time.perf_counter() - t0
            out["gin_names"] = [name for name, _ in found]
    t0 = time.perf_counter()
    out["lexemes_added"] = remember_all(db)
    out["lexemes_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    with psycopg.connect(db.conninfo, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    out["vacuum_s"] = time.perf_counter() - t0
    _PLAN = None
    return out


def refresh_threads(db: common.BenchDB) -> float:
    """What the service keeps on each thread about its posts' words, written by the
    service's own ``threads.refresh_search`` for every thread (one session, a commit per
    5,000 threads); seconds taken."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from server.db import make_engine
    from server.forum import threads

    engine = make_engine(db.url, 1)
    t0 = time.perf_counter()
    with Session(engine) as sess:
        ids = list(sess.scalars(text("SELECT id FROM forum_thread ORDER BY created_at")))
        for i, thread_id in enumerate(ids, 1):
            threads.refresh_search(sess, thread_id)
            if i % 5000 == 0:
                sess.commit()
        sess.commit()
    engine.dispose()
    return time.perf_counter() - t0


def remember_all(db: common.BenchDB) -> int:
    """The vocabulary, by the service's own ``words.remember`` over every post (batches of
    50,000); the rows of forum_lexeme afterwards."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from server.db import make_engine
    from server.forum import words

    engine = make_engine(db.url, 1)
    with Session(engine) as sess:
        ids = list(sess.scalars(text("SELECT id FROM forum_post ORDER BY id")))
        for i in range(0, len(ids), 50_000):
            words.remember(sess, ids[i:i + 50_000])
        sess.commit()
        n = int(sess.scalar(text("SELECT count(*) FROM forum_lexeme")) or 0)
    engine.dispose()
    return n


def design(conn: psycopg.Connection[Any]) -> str:
    """How threads carry their posts' words, from the schema: "tiers" (``match`` again in
    a vector per tier of recent threads, ``recent_match`` and ``season_match``), "match" (a
    thread's lexemes, ``match``, and its opening post's vector, ``summary``), "vector" (the
    sum of its posts' vectors, ``search``), or "posts" (only posts have vectors: the first
    design)."""
    cols = {r[0] for r in conn.execute("SELECT column_name FROM information_schema.columns "
                                       "WHERE table_name = 'forum_thread'").fetchall()}
    if {"match", "summary", "recent_match", "season_match"} <= cols:
        return "tiers"
    return "match" if {"match", "summary"} <= cols else "vector" if "search" in cols else "posts"


def forum_counts(db: common.BenchDB) -> dict[str, Any]:
    with psycopg.connect(db.conninfo) as pg:
        t = pg.execute("""
            SELECT count(*), count(*) FILTER (WHERE visible_org_id IS NOT NULL),
                   count(DISTINCT visible_org_id),
                   count(*) FILTER (WHERE location IS NOT NULL),
                   count(*) FILTER (WHERE solution_post_id IS NOT NULL),
                   count(*) FILTER (WHERE hidden_at IS NOT NULL),
                   count(*) FILTER (WHERE reply_count BETWEEN 1 AND 3),
                   count(*) FILTER (WHERE reply_count >= 100),
                   percentile_disc(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY reply_count),
                   max(reply_count), avg(reply_count), min(created_at), max(last_post_at)
            FROM forum_thread""").fetchone()
        p = pg.execute("""
            SELECT count(*), count(*) FILTER (WHERE hidden_at IS NOT NULL),
                   count(*) FILTER (WHERE format = 'markdown'), avg(length(body)),
                   avg(length(search::text))
            FROM forum_post""").fetchone()
        lexemes = pg.execute("SELECT count(*) FROM forum_lexeme").fetchone()
        sizes = pg.execute("""
            SELECT c.relname, pg_relation_size(c.oid), coalesce(pg_total_relation_size(c.reltoastrelid), 0),
                   pg_indexes_size(c.oid), pg_total_relation_size(c.oid)
            FROM pg_class c WHERE c.relname IN ('forum_thread', 'forum_post', 'forum_lexeme')
            ORDER BY pg_total_relation_size(c.oid) DESC""").fetchall()
        indexes = pg.execute("""
            SELECT i.indexrelid::regclass::text, pg_relation_size(i.indexrelid)
            FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
            WHERE c.relname IN ('forum_thread', 'forum_post', 'forum_lexeme')
            ORDER BY pg_relation_size(i.indexrelid) DESC""").fetchall()
    assert t is not None and p is not None and lexemes is not None
    return {"threads": t[0], "coop_threads": t[1], "coops": t[2], "located": t[3], "solved": t[4],
            "hidden_threads": t[5], "one_to_three": t[6], "hundred_plus": t[7],
            "replies_p50_p90_p99": t[8], "replies_max": t[9], "replies_mean": float(t[10] or 0),
            "first": t[11], "last": t[12], "posts": p[0], "hidden_posts": p[1], "markdown": p[2],
            "body_chars": float(p[3] or 0), "vector_chars": float(p[4] or 0),
            "lexemes": lexemes[0], "sizes": sizes, "indexes": indexes}


# --- the searches ------------------------------------------------------------------------

# What a fisher types, by class (each list most typed first).
COMMON = ("motor", "precio", "veda", "permiso", "hielo", "camarón", "pulpo", "gasolina", "panga",
          "tormenta", "cooperativa", "mecánico", "kilo", "red")
RARE = ("sargazo", "bengalas", "impulsor", "abulón", "erizo", "decomiso", "trazabilidad",
        "marlín", "neblina", "extintor", "malacate", "medregal", "barrilete", "Bienpesca",
        "baliza", "quilla", "silbato", "marejada", "suripera", "empacadora", "Tohatsu",
        "Evinrude", "Guadalupana")
TWO = ("motor Yamaha", "precio camarón", "veda langosta", "permiso pesca", "marea roja",
       "redes fantasma", "chaleco salvavidas", "bomba agua", "talla mínima", "motor calienta",
       "precio pulpo", "aviso arribo", "cuarto frío", "red agallera", "huachinango Mazatlán",
       "jaiba trampa", "veda pulpo", "caja ahorro", "hielo caro", "mar fondo")
THREE = ("motor no arranca", "permiso de pesca pulpo", "precio camarón Mazatlán",
         "veda camarón 2025", "red agallera monofilamento", "bomba de agua impulsor",
         "chalecos salvavidas certificados", "venta directa restaurantes",
         "marea roja ostión", "precio del hielo Ensenada", "motor Suzuki 40 humo",
         "renovar permiso de pesca")
UNACCENTED = ("camaron", "tiburon", "ostion", "atun", "mecanico", "bateria", "veda camaron",
              "precio atun", "abulon", "pampano", "huracan", "timon", "marlin", "arpon",
              "talla minima", "cuarto frio")
PLURALS = ("redes", "motores", "permisos", "tormentas", "langostas", "trampas", "camarones",
           "precios", "chalecos", "inspectores", "propelas", "tiburones", "jaibas", "pangas")
FAMILY = ("pescadores", "camaroneros", "langosteros", "pulperos", "compradores", "jaiberos",
          "ostioneros", "vendedores", "pangueros")
# Slips a phone makes (s/z, v/b, h, ll/y, rr/r, c/s, a final n/m): kept only if the forum
# has never seen the word, so that the near-miss look-up is what finds it.
TYPOS = ("guachinango", "gazolina", "langozta", "permizo", "chinchoro", "tiburom", "cabriya",
         "siera", "huachinago", "propella", "mecanco", "bateira", "tormneta", "salbavidas",
         "motro", "cooperatica", "trampaz", "jaiva", "ostiom", "calamr")
# (words, the filter) for the filtered class.
FILTERED = (("motor", {"category": "gear_boats"}), ("precio", {"species": "PNV"}),
            ("veda", {"solved": "true"}), ("hielo", {"port": "Mazatlán"}),
            ("pulpo", {"species": "OCZ", "solved": "true"}), ("tormenta", {"category": "sea_weather"}),
            ("permiso", {"category": "regulations_permits"}), ("chalecos", {"port": "Ensenada"}),
            ("camarón", {"port": "Guaymas"}), ("precio", {"category": "markets_prices"}),
            ("motor no arranca", {"solved": "true"}), ("langosta", {"species": "NUU"}),
            ("red", {"port": "Veracruz"}), ("huachinango", {"species": "LWP", "solved": "true"}))
KINDS: tuple[tuple[str, tuple[Any, ...], int], ...] = (
    ("common", COMMON, 15), ("rare", RARE, 10), ("two words", TWO, 18), ("three words", THREE, 10),
    ("no accents", UNACCENTED, 12), ("plural", PLURALS, 8), ("family", FAMILY, 7),
    ("typo", TYPOS, 5), ("filtered", FILTERED, 15))
RADIUS_KM = 50.0


@dataclass(frozen=True)
class Query:
    kind: str
    q: str
    filters: tuple[tuple[str, Any], ...] = ()

    def args(self) -> dict[str, Any]:
        return {"q": self.q, **dict(self.filters)}

    def path(self) -> str:
        return THREADS + "?" + urlencode(self.args() | {"limit": PAGE})

    def label(self) -> str:
        extra = " ".join(f"{k}={v}" for k, v in self.filters if k not in ("lon", "lat"))
        return f"{self.kind}: {self.q!r}" + (f" [{extra}]" if extra else "")


def unknown_words(db: common.BenchDB, candidates: Sequence[str]) -> list[str]:
    """The candidates none of whose stems the forum's vocabulary has."""
    with psycopg.connect(db.conninfo) as pg:
        rows = pg.execute("""
            SELECT w FROM unnest(%s::text[]) WITH ORDINALITY AS u(w, i)
            WHERE NOT EXISTS (SELECT 1 FROM forum_lexeme f WHERE f.lexeme = ANY(
                tsvector_to_array(to_tsvector('spanish', u.w))))
            ORDER BY i""", (list(candidates),)).fetchall()
    return [r[0] for r in rows]


def make_queries(db: common.BenchDB, world: Any, n: int, seed: int) -> list[Query]:
    """``n`` searches drawn by class weight, and within a class most typed first."""
    rng = random.Random(seed + 1)
    typos = unknown_words(db, TYPOS) or list(TYPOS[:1])
    pools = {kind: Zipf(typos if kind == "typo" else words, 0.7) for kind, words, _ in KINDS}
    cum = list(itertools.accumulate(w for _, _, w in KINDS))
    kinds = [k for k, _, _ in KINDS]
    out = []
    for _ in range(n):
        kind = rng.choices(kinds, cum_weights=cum)[0]
        pick = pools[kind](rng)
        if kind != "filtered":
            out.append(Query(kind, pick))
            continue
        q, filters = pick
        flt: dict[str, Any] = {k: v for k, v in filters.items() if k != "port"}
        if "port" in filters:
            port = world.ports[filters["port"]]
            flt |= {"lon": f"{port.lon:.4f}", "lat": f"{port.lat:.4f}", "radius_km": f"{RADIUS_KM:g}"}
        out.append(Query(kind, q, tuple(flt.items())))
    return out


@dataclass
class Captured:
    """What server.forum.search.search sent for one query."""

    statements: list[tuple[str, dict[str, Any]]]
    tsquery: str | None
    main: int  # index of the search statement in ``statements``
    found: int  # threads on the first page


def principal(db: common.BenchDB, member_id: uuid.UUID) -> Any:
    """The member as server/members/auth.py loads it (active memberships)."""
    from server.members.auth import Principal

    with psycopg.connect(db.conninfo) as pg:
        row = pg.execute("SELECT is_platform_admin FROM member WHERE id = %s", (member_id,)).fetchone()
        roles = pg.execute("SELECT org_id, role FROM membership WHERE member_id = %s "
                           "AND status = 'active'", (member_id,)).fetchall()
    assert row is not None
    return Principal(member_id, uuid.uuid4(), bool(row[0]), {r[0]: r[1] for r in roles})


def capture(db: common.BenchDB, who: Any, queries: list[Query]) -> dict[Query, Captured]:
    """Each distinct query run once through search.search in this process, with the
    statements it sends caught on their way to psycopg (the criteria loaded by the API's
    own ThreadQuery schema, as the view gets them)."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from server.db import make_engine
    from server.forum import search
    from server.forum.schemas import ThreadQuery

    engine = make_engine(db.url, 1)
    seen: list[tuple[str, dict[str, Any]]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def grab(_conn: Any, _cur: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, dict(parameters or {})))

    out: dict[Query, Captured] = {}
    schema = ThreadQuery()
    with Session(engine) as sess:
        for q in dict.fromkeys(queries):
            crit = schema.load(q.args() | {"limit": str(PAGE)})
            seen.clear()
            page = search.search(sess, who, crit)
            sess.rollback()
            main = [i for i, (_, params) in enumerate(seen) if "tsq" in params]
            tsq = seen[main[-1]][1].get("tsq") if main else None
            out[q] = Captured(list(seen), tsq, main[-1] if main else -1, len(page["items"]))
    engine.dispose()
    return out


def _raw_filters(q: Query) -> str:
    f = dict(q.filters)
    conds = []
    if "category" in f:
        conds.append("AND t.category = %(category)s")
    if "species" in f:
        conds.append("AND t.species_codes @> ARRAY[%(species)s::varchar]")
    if f.get("solved") == "true":
        conds.append("AND t.solution_post_id IS NOT NULL")
    if "radius_km" in f:
        conds.append("AND ST_DWithin(t.location, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), "
                     "4326)::geography, %(radius_m)s, false)")
    return " ".join(conds)


def raw_sql(q: Query) -> str:
    """The simplest SQL for the same answer on the same tables: the visible threads whose
    vector (their visible posts' words, kept by the service) has every word, by the same
    rank, the top PAGE. The tsquery is the one the project's word expansion made: a
    cast, not to_tsquery(), which would stem the stems again."""
    return f"""
    SELECT t.id FROM forum_thread t
    WHERE t.search @@ %(tsq)s::tsquery AND t.hidden_at IS NULL
      AND (t.visible_org_id IS NULL OR t.visible_org_id = ANY(%(orgs)s)) {_raw_filters(q)}
    ORDER BY ts_rank(t.search, %(tsq)s::tsquery, 1)
             / (1 + extract(epoch FROM (%(asof)s - t.last_post_at)) / {RECENCY_S}) DESC, t.id DESC
    LIMIT {PAGE}"""


def raw_match_sql(q: Query) -> str:
    """The same answer where threads keep their lexemes (``match``) and their opening
    post's vector (``summary``): the visible threads whose lexemes have every word, the
    ``search.RANK_CANDIDATES`` most recently active of them ranked by ts_rank of their
    summary over the age of their last post, the top PAGE."""
    from server.forum import search

    cap = getattr(search, "RANK_CANDIDATES", 2000)
    return f"""
    SELECT id FROM (
        SELECT t.id, t.last_post_at, t.summary FROM forum_thread t
        WHERE t.match @@ %(tsq)s::tsquery AND t.hidden_at IS NULL
          AND (t.visible_org_id IS NULL OR t.visible_org_id = ANY(%(orgs)s)) {_raw_filters(q)}
        ORDER BY t.last_post_at DESC, t.id DESC LIMIT {cap}) t
    ORDER BY ts_rank(t.summary, %(any)s::tsquery, 1)
             / (1 + greatest(extract(epoch FROM (%(asof)s - t.last_post_at)), 0) / {RECENCY_S}) DESC,
             t.id DESC
    LIMIT {PAGE}"""


def raw_tiers_sql(q: Query) -> str:
    """The same answer where recent threads keep their lexemes again per tier
    (server/forum/models.py TIERS): of each tier in turn, newest first, then of the older
    threads, the ``search.RANK_CANDIDATES`` most recently active visible threads whose
    vector has every word (the tsquery with the filters' lexemes, as the project's), ranked
    as ``raw_match_sql`` ranks them, the top PAGE. Each part is a plain subquery the
    planner plans as it likes; a later part runs only if the earlier ones fall short."""
    from server.forum import search
    from server.forum.models import TIERS

    cap = search.RANK_CANDIDATES
    visible = ("t.hidden_at IS NULL AND (t.visible_org_id IS NULL OR t.visible_org_id = "
               "ANY(%(orgs)s)) " + _raw_filters(q))
    cuts = [f"now() - interval '{days} days'" for _, days in TIERS]
    parts = []
    for i, (column, _) in enumerate(TIERS):
        newer = f"AND t.last_post_at < {cuts[i - 1]}" if i else ""
        parts.append(f"""(SELECT t.id, t.last_post_at, t.summary FROM forum_thread t
          WHERE t.{column} @@ %(tsq)s::tsquery AND t.last_post_at >= {cuts[i]} {newer}
            AND {visible}
          ORDER BY t.last_post_at DESC, t.id DESC LIMIT {cap})""")
    parts.append(f"""(SELECT t.id, t.last_post_at, t.summary FROM forum_thread t
          WHERE t.match @@ %(tsq)s::tsquery AND t.last_post_at < {cuts[-1]} AND {visible}
          ORDER BY t.last_post_at DESC, t.id DESC LIMIT {cap})""")
    return f"""
    SELECT id FROM ({" UNION ALL ".join(parts)} LIMIT {cap}) t
    ORDER BY ts_rank(t.summary, %(any)s::tsquery, 1)
             / (1 + greatest(extract(epoch FROM (%(asof)s - t.last_post_at)), 0) / {RECENCY_S}) DESC,
             t.id DESC
    LIMIT {PAGE}"""


def raw_posts_sql(q: Query) -> str:
    """The question asked post by post (the forum's first design, and the issue's wording):
    visible posts that have every word, the best one per thread by ts_rank over its age,
    the top PAGE threads. Not the same answer: a thread whose words are in different
    posts is not found."""
    return f"""
    SELECT thread_id FROM (
        SELECT DISTINCT ON (p.thread_id) p.thread_id,
               ts_rank(p.search, %(post_tsq)s::tsquery, 1)
               / (1 + extract(epoch FROM (%(asof)s - p.created_at)) / {RECENCY_S}) AS score
        FROM forum_post p JOIN forum_thread t ON t.id = p.thread_id
        WHERE p.search @@ %(post_tsq)s::tsquery AND p.hidden_at IS NULL AND t.hidden_at IS NULL
          AND (t.visible_org_id IS NULL OR t.visible_org_id = ANY(%(orgs)s)) {_raw_filters(q)}
        ORDER BY p.thread_id, score DESC) best
    ORDER BY score DESC, thread_id DESC
    LIMIT {PAGE}"""


def raw_params(q: Query, cap: Captured, orgs: list[uuid.UUID], asof: datetime) -> dict[str, Any]:
    f = dict(q.filters)
    sent = cap.statements[cap.main][1]
    out: dict[str, Any] = {"tsq": cap.tsquery, "asof": asof, "orgs": orgs,
                           "post_tsq": sent.get("post_all", cap.tsquery)}
    if "any" in sent:
        out["any"] = sent["any"]
    if "category" in f:
        out["category"] = f["category"]
    if "species" in f:
        out["species"] = f["species"]
    if "radius_km" in f:
        out |= {"lon": float(f["lon"]), "lat": float(f["lat"]),
                "radius_m": float(f["radius_km"]) * 1000.0}
    return out


# --- checks (untimed) --------------------------------------------------------------------

def check_rows(server: common.Server, members: Members, db: common.BenchDB,
               mine: uuid.UUID, kind: str) -> tuple[bool, str]:
    """For a loaded thread with a plain and one with a Markdown opening post (each of a
    cooperative other than the searcher's, with 1 or 2 replies, none hidden): the same
    thread opened through the API by its author (same category, title, body, format,
    tags, point, cooperative) and replied to by the same members with the same text must
    get the loaded rows' search vectors, html and excerpts, and the thread's vector, tags,
    location and reply count. The API's copy is then hidden by the cooperative's admin,
    so that no later search finds it."""
    post_cols = "p.search::text, p.html, p.excerpt"
    # Tiers: the loaded thread is old, the API's copy new; their tiers' vectors differ.
    vectors = {"tiers": ("match", "summary"), "match": ("match", "summary"),
               "vector": ("search",), "posts": ()}[kind]
    thread_cols = ", ".join([f"t.{v}::text" for v in vectors]
                            + ["t.species_codes", "t.gear_codes", "ST_AsEWKT(t.location)",
                               "t.reply_count"])
    names = (*(f"thread {v}" for v in vectors), "species", "gear", "location", "reply_count")
    nv = len(vectors)
    said, good = [], True
    tokens: dict[str, dict[str, str]] = {}

    def as_(phone: str) -> dict[str, str]:
        if phone not in tokens:
            tokens[phone] = market.login(server.url, phone) | {"Content-Type": "application/json"}
        return tokens[phone]

    conn = common.Http(server.url)

    def post(path: str, doc: dict[str, Any], phone: str) -> str:
        status, _, data = conn.request("POST", path, orjson.dumps(doc), as_(phone))
        if status != 201:
            raise RuntimeError(f"POST {path}: HTTP {status}: {data[:300]!r}")
        return str(orjson.loads(data)["id"])

    for fmt in ("plain", "markdown"):
        with psycopg.connect(db.conninfo) as pg:
            row = pg.execute(f"""
                SELECT t.id, t.category, t.title, t.visible_org_id, ST_X(t.location::geometry),
                       ST_Y(t.location::geometry), {thread_cols}
                FROM forum_thread t JOIN forum_post o ON o.thread_id = t.id AND o.opening
                WHERE t.visible_org_id IS NOT NULL AND t.visible_org_id <> %s
                  AND t.hidden_at IS NULL AND o.format = %s AND t.reply_count BETWEEN 1 AND 2
                  AND NOT EXISTS (SELECT 1 FROM forum_post h WHERE h.thread_id = t.id
                                  AND h.hidden_at IS NOT NULL)
                ORDER BY t.location IS NULL, t.created_at DESC LIMIT 1""", (mine, fmt)).fetchone()
            if row is None:
                said.append(f"no loaded thread with a {fmt} opening post to compare")
                continue
            posts = pg.execute(f"""
                SELECT p.body, p.format, m.phone, {post_cols} FROM forum_post p
                JOIN member m ON m.id = p.author_id WHERE p.thread_id = %s
                ORDER BY p.created_at, p.id""", (row[0],)).fetchall()
        _, category, title, org, lon, lat = row[:6]
        body, _, phone = posts[0][:3]
        made = post(THREADS, {
            "category": category, "title": title, "body": body, "format": fmt,
            "visible_org_id": str(org), "species": row[6 + nv], "gear": row[7 + nv],
            "location": {"type": "Point", "coordinates": [lon, lat]} if lon is not None else None},
            phone)
        for body, f, phone, *_ in posts[1:]:
            post(f"{THREADS}/{made}/posts", {"body": body, "format": f}, phone)
        with psycopg.connect(db.conninfo) as pg:
            api_thread = pg.execute(f"SELECT {thread_cols} FROM forum_thread t WHERE t.id = %s",
                                    (made,)).fetchone()
            api_posts = pg.execute(f"""SELECT {post_cols} FROM forum_post p WHERE p.thread_id = %s
                                       ORDER BY p.created_at, p.id""", (made,)).fetchall()
        post(f"{THREADS}/{made}/moderation",
             {"action": "hide", "reason": "bench/forum.py: a copy made to compare"},
             members.of(org, "admin")[0][1])
        assert api_thread is not None
        bad = [n for n, x, y in zip(names, api_thread, row[6:], strict=True) if x != y]
        for i, (ours, loaded) in enumerate(zip(api_posts, posts, strict=True)):
            bad += [f"post {i} {n}" for n, x, y in zip(("search", "html", "excerpt"), ours,
                                                         loaded[3:], strict=True) if x != y]
        good &= not bad
        said.append(f"{fmt} {title!r} + {len(posts) - 1} replies: " + (
            f"{bad} DIFFER" if bad else "same post vectors, html, excerpts; same thread "
                                        f"{', '.join(vectors) or '(no vector)'}, tags, location, "
                                        "reply count"))
    conn.close()
    return good, "; ".join(said)


def check_search(server: common.Server, headers: dict[str, str], db: common.BenchDB,
                 queries: list[Query], caps: dict[Query, Captured], orgs: list[uuid.UUID],
                 raw_of: Any = None) -> tuple[bool, str]:
    """The API's pages against the raw query's (thread ids in order)."""
    conn = common.Http(server.url)
    equal, first_bad, by_posts = 0, "", 0
    with psycopg.connect(db.conninfo, autocommit=True) as pg:
        for q in queries:
            status, body = conn.get(q.path(), headers)
            if status != 200:
                raise RuntimeError(f"GET {q.path()}: HTTP {status}: {body[:300]!r}")
            ours = [it["id"] for it in orjson.loads(body)["items"]]
            params = raw_params(q, caps[q], orgs, datetime.now(UTC))
            raw = [str(r[0]) for r in pg.execute((raw_of or raw_sql)(q), params).fetchall()]
            by_posts += ours == [str(r[0]) for r in pg.execute(raw_posts_sql(q), params).fetchall()]
            if ours == raw:
                equal += 1
            elif not first_bad:
                at = next((i for i, (a, b) in enumerate(zip(ours, raw, strict=False)) if a != b),
                          min(len(ours), len(raw)))
                first_bad = (f"; first difference {q.label()}: {len(ours)} vs {len(raw)} threads, "
                             f"unequal from position {at}")
    conn.close()
    n = len(queries)
    return equal == n, (f"{equal} of {n} pages equal (same thread ids, same order){first_bad}; "
                        f"the raw posts query (another question) gives the same page for {by_posts}")


def server_prepares(db: common.BenchDB, phone: str, path: str) -> bool | None:
    """Whether the server's connections end up running the search as a prepared
    statement (psycopg prepares a statement on its 5th run on a connection, and forgets
    them all at a ROLLBACK): 8 GETs in-process (Flask test client, the same app), then a
    look at the pooled connection's psycopg statement cache. None: could not tell."""
    from server import create_app
    from server.demo import loader

    app = create_app({"DATABASE_URL": db.url, "SECRET_KEY": secrets.token_urlsafe(32),
                      "ENV": "production", "RATE_LIMIT_PER_ADDRESS": 10**6})
    client = app.test_client()
    r = client.post("/api/v1/auth/login", json={"phone": phone, "password": loader.DEMO_PASSWORD,
                                                "device_id": "bench"})
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    headers = {"Authorization": f"Bearer {r.get_json()['access_token']}"}
    for _ in range(8):
        r = client.get(path, headers=headers)
        assert r.status_code == 200, r.get_data(as_text=True)[:300]
    engine = app.extensions["cardumen.engine"]
    raw = engine.raw_connection()
    try:
        names = getattr(getattr(raw.driver_connection, "_prepared", None), "_names", None)
        if names is None:
            return None
        return any(b"AS tsquery)" in key[0] for key in names)  # the search statement
    finally:
        raw.close()
        engine.dispose()


# --- timed phases ------------------------------------------------------------------------

@dataclass
class Phase(market.Phase):
    order: list[int] = field(default_factory=list)  # the query (index) of each latency

    def by_kind(self, queries: list[Query]) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {}
        for lat, k in zip(self.latencies, self.order, strict=True):
            out.setdefault(queries[k].kind, []).append(lat)
        return out


Statements = list[tuple[str, dict[str, Any]]]


def replay_searcher(conn: psycopg.Connection[Any], plans: list[Statements], start: int,
                    seconds: float, seen: list[int], prepare: bool | None) -> common.Client:
    """Each search's statements in turn; on a connection that is not autocommit, in one
    transaction committed at the end, as a server request runs them."""
    def go(tally: common.Tally) -> None:
        deadline = time.perf_counter() + seconds
        i = start
        while time.perf_counter() < deadline:
            k = i % len(plans)
            t0 = time.perf_counter()
            for sql, params in plans[k]:
                cur = conn.execute(sql, params, prepare=prepare)
                if cur.description is not None:
                    cur.fetchall()
            if not conn.autocommit:
                conn.commit()
            tally.latencies.append(time.perf_counter() - t0)
            seen.append(k)
            tally.requests += 1
            i += 1
    return go


def run_phase(side: str, server: common.Server, db: common.BenchDB, args: argparse.Namespace,
              notes: list[str], queries: list[Query], phone: str,
              plans: list[Statements] | None = None, prepare: bool | None = False) -> Phase:
    """``project`` over HTTP; ``project sql`` / ``raw``: ``plans`` (statements per query)
    through psycopg, one autocommit connection a client."""
    name = f"search {side}"
    common.settle(name, db, args.quiet_wait, args.others_wait, notes)
    offsets = [i * len(queries) // args.clients for i in range(args.clients)]
    seen: list[list[int]] = []
    spread, reconnects = "", 0
    if plans is None:
        headers = market.login(server.url, phone)  # after the wait: a token lasts 15 minutes
        paths = [q.path() for q in queries]
        conns, spread = common.connect(server, args.clients, market.PROBE, not args.no_balance)

        def work(seconds: float) -> list[common.Client]:
            seen[:] = [[] for _ in conns]
            return [market.http_searcher(c, paths, offsets[i], headers, seconds, seen[i])
                    for i, c in enumerate(conns)]

        elapsed, tally, cpu = common.measure(conns, work, args.seconds, args.warmup,
                                             {"server": server}, db.name)
        reconnects = sum(c.reconnects for c in conns)
    else:
        # The project's statements in a transaction a search, as the server runs them (its
        # SET LOCAL needs one); the raw query alone, autocommit.
        pgs = [psycopg.connect(db.conninfo, autocommit=side.startswith("raw"),
                               options=server_options()) for _ in range(args.clients)]
        todo = plans

        def work(seconds: float) -> list[common.Client]:
            seen[:] = [[] for _ in pgs]
            return [replay_searcher(c, todo, offsets[i], seconds, seen[i], prepare)
                    for i, c in enumerate(pgs)]

        elapsed, tally, cpu = common.measure(pgs, work, args.seconds, args.warmup,
                                             {"server": server}, db.name)
    ph = Phase(name, tally.requests, elapsed, tally.latencies, cpu.used, spread, reconnects,
               market._slowest(tally.latencies, seen), [k for s in seen for k in s])
    market.contended(ph.name, ph.cpu, ph.elapsed, notes)
    print(f"  {name:20} {ph.requests:7,} requests, p50 {ph.ms(50):7.1f} ms, p95 {ph.ms(95):7.1f} ms"
          + (f" (connections per worker {spread})" if spread else ""), file=sys.stderr)
    return ph


def server_options() -> str:
    """The session settings the server's own connections get (server/db.py make_engine):
    no parallel query for requests, so the replays plan as the server does."""
    from server.config import DEFAULTS

    return f"-c max_parallel_workers_per_gather={int(DEFAULTS['DB_PARALLEL_WORKERS'])}"


def explain(pg: psycopg.Connection[Any], sql: str, params: dict[str, Any]) -> str:
    market.explain(pg, sql, params)  # once, so the plan printed is a warm one
    return market.explain(pg, sql, params)


def explain_generic(pg: psycopg.Connection[Any], sql: str, params: dict[str, Any]) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of the statement's generic plan: the plan a prepared
    statement may settle on after five custom ones (an EXPLAIN with bound parameters
    always shows a custom plan). PREPARE with $n, then EXECUTE with the values bound
    client-side, under plan_cache_mode = force_generic_plan."""
    names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", sql)))
    body = sql
    for i, n in enumerate(names, 1):
        body = body.replace(f"%({n})s", f"${i}")
    pg.execute(f"PREPARE bench_generic AS {body.replace('%%', '%')}")
    try:
        pg.execute("SET plan_cache_mode = force_generic_plan")
        with psycopg.ClientCursor(pg) as cur:
            args = ", ".join(["%s"] * len(names))
            cur.execute(f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_generic({args})",
                        [params[n] for n in names])
            return "\n".join(str(r[0]) for r in cur.fetchall())
    finally:
        pg.execute("RESET plan_cache_mode")
        pg.execute("DEALLOCATE bench_generic")


def slowest_kind(phase: Phase, queries: list[Query]) -> tuple[str, int]:
    """The query class with the highest p95 in the phase, and its slowest query."""
    kinds = phase.by_kind(queries)
    kind = max(kinds, key=lambda k: common.percentile(kinds[k], 95))
    _, k = max((lat, k) for lat, k in zip(phase.latencies, phase.order, strict=True)
               if queries[k].kind == kind)
    return kind, k


# --- report ------------------------------------------------------------------------------

def _mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB" if n >= 2**20 else f"{n / 1024:,.0f} kB"


def report(args: argparse.Namespace, db: common.BenchDB, version: str, code: str,
           setup: dict[str, Any], counts: dict[str, Any], queries: list[Query],
           caps: dict[Query, Captured], checks: tuple[tuple[bool, str], tuple[bool, str]],
           prepared: bool | None, plans: dict[str, str], phases: list[Phase],
           rss: list[float | None], notes: list[str]) -> None:
    c = counts
    print(f"\nCardumen forum: {c['threads']:,} threads, {c['posts']:,} posts; search over HTTP "
          f"beside the raw PostgreSQL query")
    print(f"code: {code}")
    print(f"{version} ({db.where}); {os.cpu_count()} CPUs; load avg {os.getloadavg()[0]:.2f}; "
          f"gunicorn {args.workers} workers x {args.server_threads} threads (gthread, --reuse-port, "
          f"access log), loopback; database {db.name}")
    if "forum_post_s" in setup:
        posts_s, threads_s = setup["forum_post_s"], setup["forum_thread_s"]
        gin = (f"; GIN indexes {', '.join(setup['gin_names'])} built after {setup['gin_s']:.1f} s"
               if "gin_s" in setup else " (GIN indexes in place during the COPY)")
        print(f"load: members {setup['world_s']:.1f} s; rows made {setup['made_s']:.1f} s "
              f"({setup['jobs']} processes, markup.render + excerpt); COPY forum_thread "
              f"{threads_s:.1f} s ({c['threads'] / threads_s:,.0f} rows/s); COPY forum_post "
              f"{posts_s:.1f} s ({c['posts'] / posts_s:,.0f} rows/s, {_mib(setup['post_bytes'])} "
              f"of text, {setup['post_bytes'] / posts_s / 2**20:.1f} MiB/s); solutions "
              f"{setup['solutions_s']:.1f} s; threads.refresh_search for every thread "
              f"{setup['threads_s']:.1f} s{gin}; "
              f"forum_lexeme {setup['lexemes_added']:,} rows "
              f"{setup['lexemes_s']:.1f} s; VACUUM ANALYZE {setup['vacuum_s']:.1f} s")
        print("made: " + ", ".join(f"{k} {v:,}" for k, v in setup["mix"].items()))
    else:
        print(f"load: none, database {db.name} reused")
    p50, p90, p99 = c["replies_p50_p90_p99"]
    print(f"threads: {c['threads']:,}; cooperative-only {c['coop_threads']:,} "
          f"({c['coop_threads'] / c['threads']:.0%}, {c['coops']} cooperatives); with a location "
          f"{c['located']:,} ({c['located'] / c['threads']:.0%}); solved {c['solved']:,} "
          f"({c['solved'] / c['threads']:.0%}); hidden {c['hidden_threads']:,}; visible replies "
          f"per thread mean {c['replies_mean']:.1f}, median {p50}, p90 {p90}, p99 {p99}, max "
          f"{c['replies_max']}; 1-3 replies {c['one_to_three'] / c['threads']:.0%}, 100+ "
          f"{c['hundred_plus']:,}; {c['first']:%Y-%m-%d} .. {c['last']:%Y-%m-%d}")
    print(f"posts: {c['posts']:,}; hidden {c['hidden_posts']:,}; markdown {c['markdown']:,}; mean "
          f"body {c['body_chars']:.0f} chars, search vector {c['vector_chars']:.0f} chars as text; "
          f"vocabulary (forum_lexeme) {c['lexemes']:,} lexemes")
    print("sizes: " + "; ".join(f"{r[0]} {_mib(r[4])} (heap {_mib(r[1])}, toast {_mib(r[2])}, "
                                f"indexes {_mib(r[3])})" for r in c["sizes"]))
    print("  indexes: " + ", ".join(f"{n} {_mib(b)}" for n, b in c["indexes"]))
    found = {q: caps[q].found for q in queries}
    print(f"searches: {len(queries):,} ({len(set(queries))} distinct) as a fisher of {SEARCHER_PORT} "
          f"(sees platform threads and its cooperative's), limit {PAGE}; per class: " + ", ".join(
              f"{k} {sum(1 for q in queries if q.kind == k)}" for k, _, _ in KINDS))
    check_rows_, check_search_ = checks
    print(f"check rows ({'OK' if check_rows_[0] else 'MISMATCH'}): {check_rows_[1]}")
    print(f"check search ({'OK' if check_search_[0] else 'MISMATCH'}): {check_search_[1]}")
    mode = {True: "yes (its GETs end in COMMIT, so psycopg keeps what it prepared): the replays "
                  "let psycopg prepare too",
            False: "no (every request ends in a ROLLBACK): the replays run unprepared",
            None: "could not tell: the replays run unprepared"}[prepared]
    print(f"server prepares the search statement after 5 runs on a connection: {mode}")
    print("search design (from the schema): " + {
        "tiers": "threads keep their lexemes (match), again per tier of recent threads "
                 "(recent_match, season_match), and their opening post's vector (summary)",
        "match": "threads keep their lexemes (match) and their opening post's vector (summary)",
        "vector": "threads keep the sum of their visible posts' vectors (search)",
        "posts": "only posts have vectors"}[setup["design"]] + f"; raw query: {setup['design']}")
    q0 = queries[0]
    print(f"\nthe project's statements for {q0.label()} (server/forum/search.py), as sent:")
    for sql, params in caps[q0].statements:
        shown = {k: v for k, v in params.items() if k != "my_orgs"}
        print("  " + " ".join(sql.split()) + f"\n    -- {shown}")
    for name, plan in plans.items():
        par = re.findall(r"Workers Launched: (\d+)", plan)
        print(f"\nEXPLAIN (ANALYZE, BUFFERS), {name}"
              + (f" (PARALLEL: {sum(map(int, par))} workers)" if par else "") + ":")
        print("\n".join("  " + line for line in plan.splitlines()))
    head = (f"\n{'phase':20} {'reqs':>7} {'per s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}  "
            f"CPU s: {'client':>6} {'server':>6} {'postgres':>8} {'other':>6}  connections")
    print(head)
    print("-" * len(head.strip()))
    for ph in phases:
        rate = ph.requests / ph.elapsed if ph.elapsed else 0.0
        print(f"{ph.name:20} {ph.requests:7,} {rate:7,.1f} {ph.ms(50):7.2f} {ph.ms(95):7.2f} "
              f"{ph.ms(99):7.2f}         {ph.cpu['client']:6.1f} {ph.cpu['server']:6.1f} "
              f"{ph.cpu['postgres']:8.1f} {ph.cpu['other']:6.1f}  {ph.spread or '-'}")
    print("-" * len(head.strip()))
    ours, sql, raw = phases[:3]
    extra = phases[3:]  # sql custom, raw posts (when run)
    by = [ph.by_kind(queries) for ph in phases]
    head = (f"{'class':12} {'share':>5} {'found':>5} {'empty':>5}  {'project p50/p95 ms':>18}  "
            f"{'sql p50/p95':>13}  {'raw p50/p95':>13}  "
            + "".join(f"{ph.name.removeprefix('search ') + ' p95':>20}  " for ph in extra)
            + "p95 project/raw")
    print("\n" + head)
    print("-" * len(head))
    for kind, _, _ in KINDS:
        qs = [q for q in dict.fromkeys(queries) if q.kind == kind]
        if not qs or kind not in by[0]:
            continue
        share = sum(1 for q in queries if q.kind == kind) / len(queries)
        mean = sum(found[q] for q in qs) / len(qs)
        empty = sum(1 for q in qs if not found[q])
        p = [(common.percentile(b.get(kind, []), 50) * 1000, common.percentile(b.get(kind, []), 95) * 1000)
             for b in by]
        print(f"{kind:12} {share:5.0%} {mean:5.1f} {empty:5}  {p[0][0]:8.1f} / {p[0][1]:7.1f}  "
              f"{p[1][0]:5.1f} / {p[1][1]:5.1f}  {p[2][0]:5.1f} / {p[2][1]:5.1f}  "
              + "".join(f"{x[1]:20.1f}  " for x in p[3:]) + f"{p[0][1] / p[2][1]:6.1f}x")
    print("-" * len(head))
    verdict = "TARGET MET" if ours.ms(95) < TARGET_MS else "TARGET MISSED"
    print(f"search p50 / p95 / p99: project {ours.ms(50):.1f} / {ours.ms(95):.1f} / {ours.ms(99):.1f} "
          f"ms, its SQL alone {sql.ms(50):.1f} / {sql.ms(95):.1f} / {sql.ms(99):.1f} ms, raw "
          f"{raw.ms(50):.1f} / {raw.ms(95):.1f} / {raw.ms(99):.1f} ms; p95 project/raw "
          f"{ours.ms(95) / raw.ms(95):.1f}x, project/its SQL {ours.ms(95) / sql.ms(95):.1f}x; "
          f"target p95 < {TARGET_MS:.0f} ms: {verdict}")
    print("slowest project searches: " + "; ".join(
        f"{lat * 1000:.0f} ms {queries[k].label()}" for lat, k in ours.slowest))
    mem = ", ".join(f"{v:.0f}" for v in rss if v is not None)
    print(f"gunicorn peak RSS (VmHWM, MiB): {mem}")
    for n_ in notes:
        print(f"warning: {n_}")
    sys.stdout.flush()


# --- main --------------------------------------------------------------------------------

def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    # "resolve": --threads is the forum's threads here; gunicorn's is --server-threads.
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter,
                                conflict_handler="resolve")
    common.add_phase_options(p)
    p.add_argument("--threads", type=int, default=100_000, help="forum threads (default 100000)")
    p.add_argument("--server-threads", type=int, default=4, help="gunicorn threads per worker")
    p.add_argument("--posts", type=int, default=1_000_000,
                   help="posts, opening posts included (default 1000000)")
    p.add_argument("--smoke", action="store_true",
                   help="a quick check: 2,000 threads, 20,000 posts, 3 s phases, 200 searches")
    p.add_argument("--members", type=int, default=15,
                   help="fishers of each of the 20 cooperatives, besides its admin (default 15)")
    p.add_argument("--jobs", type=int, default=2, help="processes making the rows (default 2)")
    p.add_argument("--gin-during-copy", action="store_true",
                   help="keep the GIN indexes on the forum's vectors during the COPY (default: "
                        "dropped before, built after, as a bulk load does)")
    p.add_argument("--seconds", type=float, default=20.0, help="duration of each phase")
    p.add_argument("--warmup", type=float, default=3.0,
                   help="untimed searches before each phase, on its connections (seconds)")
    p.add_argument("--clients", type=int, default=2,
                   help="client threads, one keep-alive HTTP or psycopg connection each")
    p.add_argument("--queries", type=int, default=600,
                   help="searches drawn (by class weight), cycled through (default 600)")
    p.add_argument("--no-custom-phase", action="store_true",
                   help="when the server prepares, skip the 'sql custom' phase (the project's "
                        "statements replayed unprepared: a custom plan every time)")
    p.add_argument("--no-posts-phase", action="store_true",
                   help="skip the 'raw posts' phase (the question asked post by post)")
    p.add_argument("--check", type=int, default=200,
                   help="searches compared, API against raw, before the phases (default 200)")
    common.add_database_options(p, "(no load; the database is kept)")
    args = p.parse_args(argv)
    if args.smoke:
        args.threads, args.posts, args.queries = 2000, 20_000, 200
        args.seconds, args.warmup, args.check = 3.0, 1.0, min(args.check, 100)
    if (args.threads < 1 or args.posts < args.threads or args.clients < 1 or args.seconds <= 0
            or args.queries < 1 or args.members < 1 or args.jobs < 1):
        p.error("need --threads, --clients, --queries, --members, --jobs >= 1, "
                "--posts >= --threads, --seconds > 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # A SIGTERM unwinds like Ctrl-C: the server stopped, the database dropped (unless kept).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    notes: list[str] = []
    code = common.code_state(*SOURCES)
    with common.database(args.keep_db, args.reuse_db) as db:
        setup: dict[str, Any] = {}
        if not args.reuse_db:
            note = common.quiet("load", 0, args.others_wait)
            if note:
                notes.append(f"load: {note}")
            print(f"loading {args.threads:,} threads, {args.posts:,} posts into {db.name} ...",
                  file=sys.stderr)
        t0 = time.perf_counter()
        members = make_members(db, args.members)
        setup["world_s"] = time.perf_counter() - t0
        if not args.reuse_db:
            setup |= load(db, members, args)
            print(f"  loaded in {sum(v for k, v in setup.items() if k.endswith('_s')):.0f} s",
                  file=sys.stderr)
        counts = forum_counts(db)
        version = common.server_version(db.conninfo)
        world = members.world
        mine = world.coops[SEARCHER_PORT]
        searcher, phone = world.sellers[mine][0]
        who = principal(db, searcher)
        orgs = list(who.roles)
        queries = make_queries(db, world, args.queries, args.seed)
        t0 = time.perf_counter()
        caps = capture(db, who, queries)
        print(f"  {len(caps)} distinct searches run once in-process ({time.perf_counter() - t0:.1f} s)",
              file=sys.stderr)
        dropped = [q for q in queries if not caps[q].tsquery]
        if dropped:
            notes.append(f"{len(dropped)} searches ask for nothing (stop words only), left out: "
                         f"{sorted({q.q for q in dropped})}")
        queries = [q for q in queries if caps[q].tsquery]
        prepared = server_prepares(db, phone, queries[0].path())
        with psycopg.connect(db.conninfo) as pg:
            kind_of_search = design(pg)
        raw_of = {"tiers": raw_tiers_sql, "match": raw_match_sql, "vector": raw_sql,
                  "posts": raw_posts_sql}[kind_of_search]
        setup["design"] = kind_of_search
        prepare = None if prepared else False
        env = {"CARDUMEN_RATE_LIMIT_PER_ADDRESS": "100000"}
        with common.serve(db.url, args.workers, args.server_threads, extra_env=env) as server:
            rows_ok = check_rows(server, members, db, mine, kind_of_search)
            search_ok = check_search(server, market.login(server.url, phone), db,
                                     queries[:args.check], caps, orgs, raw_of)
            print(f"checked: {rows_ok[1]}; {search_ok[1]}; timed phases:", file=sys.stderr)
            asof = datetime.now(UTC)
            project_plans = [caps[q].statements for q in queries]
            raw_plans = [[(raw_of(q), raw_params(q, caps[q], orgs, asof))] for q in queries]
            posts_plans = [[(raw_posts_sql(q), raw_params(q, caps[q], orgs, asof))]
                           for q in queries]
            phases = [run_phase("project", server, db, args, notes, queries, phone),
                      run_phase("project sql", server, db, args, notes, queries, phone,
                                project_plans, prepare),
                      run_phase("raw", server, db, args, notes, queries, phone, raw_plans, prepare)]
            if prepared and not args.no_custom_phase:
                phases.append(run_phase("sql custom", server, db, args, notes, queries,
                                        phone, project_plans, False))
            if not args.no_posts_phase and raw_of is not raw_posts_sql:
                phases.append(run_phase("raw posts", server, db, args, notes, queries, phone,
                                        posts_plans, prepare))
            _, k = slowest_kind(phases[0], queries)
            q = queries[k]
            main_sql, main_params = caps[q].statements[caps[q].main]
            plans: dict[str, str] = {}
            with psycopg.connect(db.conninfo, autocommit=True, options=server_options()) as pg:
                plans[f"project, the slowest class ({q.label()})"] = explain(pg, main_sql, main_params)
                if prepared:
                    plans[f"project, its generic plan (the server prepares: what it may run "
                          f"after five custom plans) ({q.label()})"] = explain_generic(
                              pg, main_sql, main_params)
                plans[f"raw, the same search ({q.label()})"] = explain(pg, *raw_plans[k][0])
                if raw_of is not raw_posts_sql:
                    plans[f"raw posts, the same search ({q.label()})"] = explain(
                        pg, *posts_plans[k][0])
            rss = [common.vm_hwm_mb(p) for p in sorted(server.workers_seen)]
        now = common.code_state(*SOURCES)
        if now.rsplit(" ", 1)[1] != code.rsplit(" ", 1)[1]:  # the digest
            notes.append(f"server/forum changed during the run (now {now})")
        report(args, db, version, code, setup, counts, queries, caps, (rows_ok, search_ok),
               prepared, plans, phases, rss, notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
