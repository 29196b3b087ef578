"""Hand-written lists behind the synthetic demo data (names, species, fisheries).

The numbers are plausible orders of magnitude for Mexican small-scale
fisheries (a panga's catch of one species on one trip, first-sale prices in
MXN per kg around 2023), chosen by hand for a demonstration. They are not
statistics and must not be used as such.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- people ----------------------------------------------------------------------------

MALE_NAMES = (
    "José", "Juan", "Luis", "Jesús", "Miguel", "Francisco", "Antonio", "Alejandro", "Manuel",
    "Pedro", "Ramón", "Rafael", "Jorge", "Carlos", "Arturo", "Roberto", "Martín", "Fernando",
    "Raúl", "Héctor", "Sergio", "Javier", "Enrique", "Rubén", "Alfredo", "Eduardo", "Ricardo",
    "Víctor", "Gerardo", "Ignacio", "Salvador", "Andrés", "Ernesto", "Armando", "Jaime",
    "Agustín", "Felipe", "Gilberto", "Efraín", "Isidro", "Leonel", "Rigoberto", "Abel", "Marcos",
    "Ángel", "Omar", "Iván", "Hugo", "Joel", "Saúl", "Daniel", "Pablo", "Julio", "Tomás",
    "Benito", "Eusebio", "Crispín", "Teodoro", "Porfirio", "Anselmo", "Genaro", "Ismael",
    "José Luis", "Juan Carlos", "Juan Manuel", "José Antonio", "Miguel Ángel", "Luis Alberto",
    "Jesús Manuel", "José Guadalupe", "Juan Pablo", "Francisco Javier",
)
FEMALE_NAMES = (
    "María", "Guadalupe", "Juana", "Margarita", "Rosa", "Verónica", "Leticia", "Patricia",
    "Elena", "Martha", "Teresa", "Alejandra", "Gabriela", "Norma", "Silvia", "Adriana",
    "Claudia", "María de Jesús", "Ana María", "Rosario", "Yolanda", "Araceli", "Dolores",
    "Lucía", "Carmen", "Josefina", "Socorro", "María Elena", "Blanca", "Irma",
)
SURNAMES = (
    "Hernández", "García", "Martínez", "López", "González", "Pérez", "Rodríguez", "Sánchez",
    "Ramírez", "Cruz", "Flores", "Gómez", "Morales", "Vázquez", "Reyes", "Jiménez", "Torres",
    "Díaz", "Gutiérrez", "Ruiz", "Mendoza", "Aguilar", "Ortiz", "Moreno", "Castillo", "Romero",
    "Álvarez", "Méndez", "Chávez", "Rivera", "Juárez", "Ramos", "Domínguez", "Herrera",
    "Medina", "Castro", "Vargas", "Guzmán", "Velázquez", "Rojas", "Contreras", "Salazar",
    "Luna", "Ortega", "Cervantes", "Estrada", "Bautista", "Delgado", "Cortés", "Navarro",
    "Ríos", "Soto", "Acosta", "Cabrera", "Valdez", "Sandoval", "Ochoa", "Lara", "Carrillo",
)
# Surnames more frequent in some regions (mixed in with the national list).
REGIONAL_SURNAMES = {
    "northwest": ("Osuna", "Valenzuela", "Félix", "Lizárraga", "Zazueta", "Beltrán", "Zamudio",
                  "Quintero", "Tirado", "Amador", "Cota", "Geraldo", "Murillo", "Higuera",
                  "Verdugo", "Camacho", "Ceseña", "Bojórquez", "Armenta", "Ibarra"),
    "south": ("Santiago", "Matus", "Toledo", "Orozco", "Velasco", "Villalobos", "Girón",
              "Regalado", "Cal y Mayor", "Nolasco", "Antonio", "Escobar"),
    "gulf": ("Hidalgo", "Lagunes", "Cházaro", "Malpica", "Uscanga", "Alvarado", "Rosado",
             "Zamora", "Maldonado", "Arcos"),
    "peninsula": ("Uc", "Canul", "Chí", "Pech", "Dzul", "May", "Poot", "Balam", "Cauich",
                  "Euán", "Couoh", "Tzec", "Ku", "Ek", "Pool", "Cetina", "Puc"),
}

# --- organizations and vessels ---------------------------------------------------------

COOP_NAMES = (
    "Pescadores Unidos", "Pescadores Ribereños", "Aguas Azules", "La Esperanza",
    "Nuevo Amanecer", "El Faro", "Los Delfines", "Estrella del Mar", "Mar Abierto",
    "Pescadores Libres", "Unión de Pescadores", "Hijos del Mar", "Brisas del Mar",
    "Puerta del Mar", "Punta Arena", "Boca de la Barra", "Marea Alta", "Los Pelícanos",
    "Ribereña Independiente", "Pescadores del Litoral", "Costa Brava", "Bahía Escondida",
    "Piedra Blanca", "Isla Verde", "Frente Pesquero", "Mar y Tierra", "Las Gaviotas",
    "Punta Roca", "El Arrecife", "Los Manglares",
)
VESSEL_NAMES = (
    "La Guadalupana", "Don Chuy", "El Pescador", "La Morena", "Virgen del Carmen",
    "Dos Hermanos", "El Güero", "La Perla", "Estrella del Mar", "San Pedro", "La Sirena",
    "El Tiburón", "Mi Lupita", "La Bendición", "Don Ramón", "Tres Marías", "El Chaparro",
    "La Gaviota", "Santa Rosa", "El Delfín", "Reina del Mar", "La Consentida", "El Alacrán",
    "Cristo Rey", "San Judas Tadeo", "La Palometa", "El Pelícano", "La Doña", "Mi Gordita",
    "El Capi", "La Jaibera", "San Andrés", "La Fe", "El Zorro", "Luz del Alba", "La Niña Bonita",
    "Santa Elena", "El Marlín", "La Gloria", "El Cachorro", "Mar Azul", "La Cachanilla",
    "Dios te Guarde", "El Coyote", "Los Primos", "La Tortuga", "Sol de la Mañana",
)
ENGINE_HP = (40, 48, 60, 75, 85, 90, 115)

# INEGI state numbers (for RNPA-like codes) and the telephone area code used for
# members' phone numbers when the port's own is unknown.
STATE_NUMBER = {
    "Baja California": 2, "Baja California Sur": 3, "Campeche": 4, "Colima": 6, "Chiapas": 7,
    "Guerrero": 12, "Jalisco": 14, "Michoacán": 16, "Nayarit": 18, "Oaxaca": 20,
    "Quintana Roo": 23, "Sinaloa": 25, "Sonora": 26, "Tabasco": 27, "Tamaulipas": 28,
    "Veracruz": 30, "Yucatán": 31,
}
STATE_AREA_CODE = {
    "Baja California": "646", "Baja California Sur": "612", "Sonora": "622", "Sinaloa": "669",
    "Nayarit": "311", "Jalisco": "322", "Colima": "314", "Michoacán": "753", "Guerrero": "744",
    "Oaxaca": "958", "Chiapas": "962", "Tamaulipas": "833", "Veracruz": "229", "Tabasco": "993",
    "Campeche": "981", "Yucatán": "999", "Quintana Roo": "998",
}
PORT_AREA_CODE = {
    "Ensenada": "646", "San Felipe": "686", "Puerto Peñasco": "638", "Guaymas": "622",
    "Topolobampo": "668", "Mazatlán": "669", "La Paz": "612", "Puerto San Carlos": "613",
    "Manzanillo": "314", "Puerto Ángel": "958", "Salina Cruz": "971", "Puerto Madero": "962",
    "Tampico": "833", "Veracruz": "229", "Alvarado": "297", "Ciudad del Carmen": "938",
    "Campeche": "981", "Celestún": "988", "Progreso": "969", "Puerto Morelos": "998",
}
# Standard UTC offsets (hours); Mexico has no daylight saving time since 2022 outside
# the US border strip, which the demo ignores.
STATE_UTC_OFFSET = {
    "Baja California": -8, "Baja California Sur": -7, "Sonora": -7, "Sinaloa": -7,
    "Nayarit": -7, "Quintana Roo": -5,
}
DEFAULT_UTC_OFFSET = -6

# --- species ---------------------------------------------------------------------------

# (presentation, weight, live_kg / landed_kg, price factor relative to the species' price)
Presentations = tuple[tuple[str, int, float, float], ...]

FISH: Presentations = (("whole", 85, 1.0, 1.0), ("gutted", 15, 1.12, 1.12))
LARGE_FISH: Presentations = (("gutted", 50, 1.12, 1.1), ("whole", 50, 1.0, 1.0))
SHARK: Presentations = (("gutted_headed", 50, 1.4, 1.3), ("whole", 40, 1.0, 1.0),
                        ("gutted", 10, 1.15, 1.1))
SHRIMP: Presentations = (("whole", 65, 1.0, 1.0), ("headed", 35, 1.6, 1.5))
LOBSTER_PACIFIC: Presentations = (("alive", 60, 1.0, 1.0), ("whole", 30, 1.0, 0.85),
                                  ("tail", 10, 3.0, 2.2))
LOBSTER_CARIBBEAN: Presentations = (("tail", 55, 3.0, 1.0), ("whole", 35, 1.0, 0.45),
                                    ("alive", 10, 1.0, 0.5))
WHOLE: Presentations = (("whole", 100, 1.0, 1.0),)
ADDUCTOR: Presentations = (("shucked", 100, 8.0, 1.0),)  # callo: the adductor muscle only
SCALLOP: Presentations = (("whole", 60, 1.0, 1.0), ("shucked", 40, 6.0, 5.5))
CONCH: Presentations = (("shucked", 80, 5.0, 1.0), ("whole", 20, 1.0, 0.2))
CLAWS: Presentations = (("other", 100, 2.5, 1.0),)  # stone crab: claws only


@dataclass(frozen=True)
class SpeciesSpec:
    median_kg: float  # landed kg of this species on one trip (log-normal median)
    sigma: float  # log-normal shape
    price: float  # MXN per kg at first sale, for the first presentation
    presentations: Presentations = FISH
    individual_kg: float | None = None  # when set, catches carry a count of individuals


S = SpeciesSpec
SPECIES: dict[str, SpeciesSpec] = {
    # Pacific finfish
    "SIE": S(35, 0.8, 45), "WEW": S(25, 0.8, 70), "YNO": S(120, 0.9, 35), "JPV": S(12, 0.7, 110),
    "YSF": S(10, 0.7, 80), "RBP": S(25, 0.8, 35), "MRS": S(20, 0.8, 25), "YRE": S(10, 0.8, 35),
    "NXN": S(15, 0.8, 30), "LWP": S(15, 0.7, 120), "LJS": S(12, 0.7, 90), "HUS": S(10, 0.7, 90),
    "MKR": S(10, 0.7, 80), "EFC": S(12, 0.7, 75), "MKJ": S(15, 0.8, 90), "YTC": S(20, 0.8, 55),
    "BEP": S(20, 0.8, 35), "BKJ": S(25, 0.8, 25),
    # Gulf of Mexico and Caribbean finfish
    "SSM": S(25, 0.8, 50), "KGM": S(20, 0.8, 70), "SNO": S(12, 0.7, 120), "YNR": S(12, 0.7, 60),
    "SWF": S(10, 0.7, 90), "EXZ": S(10, 0.7, 45), "POM": S(8, 0.7, 110), "CVJ": S(15, 0.8, 30),
    "BEM": S(20, 0.8, 35), "SNR": S(15, 0.7, 130), "LJN": S(10, 0.7, 110), "SNL": S(8, 0.7, 70),
    "SNY": S(10, 0.7, 90), "RPU": S(8, 0.7, 70), "GPR": S(25, 0.8, 95, FISH, 4.0),
    "MAB": S(15, 0.8, 110), "MKM": S(12, 0.8, 100), "TRG": S(6, 0.7, 45), "LCX": S(6, 0.7, 120),
    "AMB": S(15, 0.8, 60), "GBA": S(10, 0.8, 35), "LTA": S(20, 0.8, 30), "LJI": S(8, 0.7, 70),
    # both coasts
    "MUF": S(30, 0.8, 25), "MGU": S(20, 0.8, 25),
    "DOL": S(40, 0.9, 60, LARGE_FISH, 8.0), "YFT": S(50, 1.0, 85, LARGE_FISH, 20.0),
    "SKJ": S(40, 0.9, 35, LARGE_FISH, 4.0),
    # sharks and rays
    "RHU": S(25, 0.8, 45, SHARK, 3.0), "CTK": S(20, 0.8, 45, SHARK, 3.0),
    "RHT": S(25, 0.8, 50, SHARK, 3.0), "SKH": S(40, 0.9, 50, SHARK, 10.0),
    "CCL": S(35, 0.9, 55, SHARK, 15.0), "SPL": S(30, 0.9, 50, SHARK, 10.0),
    "BSH": S(60, 0.9, 40, SHARK, 25.0), "FHJ": S(20, 0.8, 30), "SRX": S(25, 0.8, 30),
    # crustaceans
    "PNV": S(15, 0.8, 280, SHRIMP), "PNS": S(12, 0.8, 320, SHRIMP), "YPS": S(12, 0.8, 250, SHRIMP),
    "PST": S(12, 0.8, 220, SHRIMP), "ABS": S(12, 0.8, 200, SHRIMP), "APS": S(10, 0.8, 220, SHRIMP),
    "BOB": S(25, 0.8, 60, SHRIMP),
    "NUT": S(20, 0.7, 650, LOBSTER_PACIFIC, 0.7), "NUU": S(12, 0.7, 450, LOBSTER_PACIFIC, 0.8),
    "NUG": S(10, 0.7, 450, LOBSTER_PACIFIC, 0.8),
    "SLC": S(12, 0.7, 900, LOBSTER_CARIBBEAN, 0.9),
    "KLU": S(40, 0.8, 45, WHOLE), "KLI": S(40, 0.8, 50, WHOLE), "CRB": S(35, 0.8, 50, WHOLE),
    "STC": S(15, 0.8, 180, CLAWS),
    # molluscs and echinoderms
    "OQY": S(30, 0.8, 90, WHOLE), "OCC": S(20, 0.8, 100, WHOLE), "OCZ": S(15, 0.8, 90, WHOLE),
    "GIS": S(300, 0.9, 15, WHOLE),
    "TQM": S(8, 0.7, 450, ADDUCTOR), "YKD": S(8, 0.7, 500, ADDUCTOR), "SCH": S(40, 0.8, 30, SCALLOP),
    "EGQ": S(60, 0.8, 40, WHOLE), "GEC": S(40, 0.7, 300, WHOLE), "HXU": S(20, 0.8, 150, WHOLE),
    "OYR": S(40, 0.7, 40, WHOLE), "OYA": S(50, 0.7, 30, WHOLE), "NQT": S(20, 0.7, 60, WHOLE),
    "HJV": S(15, 0.6, 800, WHOLE), "HRW": S(15, 0.6, 800, WHOLE),
    "JCF": S(60, 0.7, 180, WHOLE), "HIZ": S(80, 0.7, 60, WHOLE), "UYF": S(80, 0.7, 30, WHOLE),
    "COO": S(15, 0.7, 250, CONCH),
}

# --- fisheries ("métiers"): what a trip targets, with which gear, when -----------------

# An open season as inclusive (month, day) windows; a window may wrap the new year.
Season = tuple[tuple[tuple[int, int], tuple[int, int]], ...]

SHRIMP_SEASON: Season = (((9, 1), (3, 31)),)
PACIFIC_LOBSTER_SEASON: Season = (((9, 16), (2, 15)),)  # closed mid-Feb to mid-Sep
CARIBBEAN_LOBSTER_SEASON: Season = (((7, 1), (2, 29)),)  # closed March to June
PACIFIC_SHARK_SEASON: Season = (((8, 1), (4, 30)),)  # closed May-July
ATLANTIC_SHARK_SEASON: Season = (((7, 1), (4, 30)),)  # closed May-June
RED_GROUPER_SEASON: Season = (((4, 1), (1, 31)),)  # closed February-March
YUCATAN_OCTOPUS_SEASON: Season = (((8, 1), (12, 15)),)
CORVINA_SEASON: Season = (((2, 1), (5, 31)),)  # spawning aggregations, upper Gulf
CONCH_SEASON: Season = (((11, 1), (4, 30)),)
STONE_CRAB_SEASON: Season = (((10, 15), (5, 15)),)
SEA_CUCUMBER_SEASON: Season = (((4, 1), (5, 31)),)


@dataclass(frozen=True)
class Metier:
    key: str
    gear: str  # ISSCFG code present in server/catalog/data/gear.csv
    species: tuple[tuple[str, float], ...]  # (ASFIS code, weight)
    season: Season | None = None  # None: all year
    depart_hours: tuple[float, float] = (4.5, 7.0)  # local time window of departure
    trip_hours: tuple[float, float] = (5.0, 11.0)  # 4-14 h at sea
    distance_km: tuple[float, float] = (2.0, 20.0)  # fishing grounds from the home port
    spread_km: float = 1.5  # scatter of catch positions around a ground


M = Metier
METIERS: dict[str, Metier] = {m.key: m for m in (
    # Pacific
    M("escama_red_pacifico", "GNS", (("SIE", 5), ("MUF", 2), ("JPV", 1), ("RBP", 1), ("CTK", 1),
                                     ("YRE", 1), ("NXN", 1))),
    M("escama_red_bc", "GNS", (("WEW", 3), ("YSF", 3), ("CTK", 2), ("RBP", 1))),
    M("corvina_golfina", "GNS", (("YNO", 6), ("SIE", 1), ("CTK", 1)), CORVINA_SEASON,
      (4.0, 6.0), (5.0, 10.0), (3.0, 25.0)),
    M("linea_pacifico", "LHP", (("LWP", 4), ("LJS", 4), ("HUS", 2), ("MKR", 2), ("EFC", 1),
                                ("YTC", 1), ("MKJ", 0.5)), None, (4.5, 6.5), (6.0, 12.0),
      (5.0, 30.0)),
    M("linea_bc", "LHP", (("YTC", 4), ("BEP", 3), ("WEW", 2), ("MKR", 1)), None, (4.5, 6.5),
      (6.0, 12.0), (5.0, 30.0)),
    M("tiburon_pacifico", "LLS", (("RHU", 3), ("CTK", 2), ("SKH", 2), ("CCL", 2), ("SPL", 1),
                                  ("BSH", 1)), PACIFIC_SHARK_SEASON, (4.0, 6.0), (9.0, 14.0),
      (12.0, 40.0), 2.5),
    M("pelagicos_pacifico", "LTL", (("DOL", 5), ("YFT", 2), ("SKJ", 2), ("BKJ", 2)), None,
      (4.5, 6.5), (6.0, 12.0), (15.0, 40.0), 3.0),
    M("camaron_pacifico", "GND", (("PNV", 4), ("PNS", 3), ("YPS", 3)), SHRIMP_SEASON,
      (17.0, 19.0), (8.0, 12.0), (2.0, 12.0)),
    M("jaiba_pacifico", "FPO", (("KLI", 3), ("KLU", 3)), None, (5.0, 7.0), (5.0, 9.0),
      (2.0, 10.0), 1.0),
    M("langosta_bc", "FPO", (("NUT", 1),), PACIFIC_LOBSTER_SEASON, (5.0, 7.0), (6.0, 10.0),
      (2.0, 12.0), 1.0),
    M("buceo_bc", "MDV", (("UYF", 4), ("HJV", 2), ("HRW", 2), ("JCF", 2), ("GEC", 1)), None,
      (5.5, 7.5), (5.0, 9.0), (2.0, 12.0), 0.7),
    M("buceo_golfo_california", "MDV", (("TQM", 3), ("SCH", 2), ("EGQ", 3), ("YKD", 1),
                                        ("JCF", 1), ("HXU", 1), ("OCZ", 2)), None, (5.5, 7.5),
      (5.0, 9.0), (2.0, 12.0), 0.7),
    M("calamar", "LHP", (("GIS", 1),), None, (18.0, 20.0), (8.0, 12.0), (5.0, 30.0), 3.0),
    M("ostion_pacifico", "MHI", (("OYR", 3), ("NQT", 1)), None, (6.0, 8.0), (4.0, 7.0),
      (2.0, 8.0), 0.7),
    M("langosta_buceo_sur", "MDV", (("NUU", 3), ("NUG", 2), ("OCZ", 2)), PACIFIC_LOBSTER_SEASON,
      (5.5, 7.5), (5.0, 9.0), (2.0, 12.0), 0.7),
    # Gulf of Mexico and Caribbean
    M("escama_red_golfo", "GNS", (("SSM", 4), ("SNO", 2), ("YNR", 2), ("EXZ", 2), ("MUF", 2),
                                  ("MGU", 1), ("POM", 1), ("CVJ", 1), ("BEM", 1))),
    M("linea_golfo", "LHP", (("SNR", 3), ("SWF", 3), ("LJN", 2), ("SNL", 2), ("CVJ", 1),
                             ("KGM", 1), ("RPU", 1)), None, (4.5, 6.5), (6.0, 12.0),
      (5.0, 30.0)),
    M("mero", "LHP", (("GPR", 6), ("SNL", 1), ("SNY", 1), ("MAB", 1), ("MKM", 1), ("RPU", 1),
                      ("TRG", 1), ("LJN", 1)), RED_GROUPER_SEASON, (4.0, 6.0), (8.0, 14.0),
      (10.0, 40.0), 2.5),
    M("pulpo_yucatan", "LHP", (("OQY", 5), ("OCC", 2)), YUCATAN_OCTOPUS_SEASON, (4.0, 6.0),
      (6.0, 12.0), (5.0, 30.0), 2.0),
    M("tiburon_golfo", "LLS", (("RHT", 4), ("CCL", 2), ("SKH", 2), ("SPL", 1), ("BEM", 1),
                               ("FHJ", 1)), ATLANTIC_SHARK_SEASON, (4.0, 6.0), (9.0, 14.0),
      (12.0, 40.0), 2.5),
    M("camaron_golfo", "GND", (("BOB", 4), ("PST", 3), ("ABS", 2), ("APS", 1)), SHRIMP_SEASON,
      (17.0, 19.0), (8.0, 12.0), (2.0, 12.0)),
    M("jaiba_golfo", "FPO", (("CRB", 1),), None, (5.0, 7.0), (5.0, 9.0), (2.0, 10.0), 1.0),
    M("cangrejo_moro", "FPO", (("STC", 1),), STONE_CRAB_SEASON, (5.0, 7.0), (5.0, 9.0),
      (2.0, 12.0), 1.0),
    M("ostion_golfo", "MHI", (("OYA", 1),), None, (6.0, 8.0), (4.0, 7.0), (2.0, 8.0), 0.7),
    M("pepino_yucatan", "MDV", (("HIZ", 1),), SEA_CUCUMBER_SEASON, (5.5, 7.5), (5.0, 9.0),
      (3.0, 20.0), 1.0),
    M("langosta_caribe", "MDV", (("SLC", 1),), CARIBBEAN_LOBSTER_SEASON, (5.5, 7.5),
      (5.0, 9.0), (2.0, 15.0), 0.7),
    M("caracol_caribe", "MDV", (("COO", 1),), CONCH_SEASON, (5.5, 7.5), (5.0, 9.0),
      (2.0, 15.0), 0.7),
    M("arrecife_caribe", "LHP", (("SNY", 3), ("LJN", 2), ("LCX", 1), ("MAB", 1), ("AMB", 1),
                                 ("GBA", 1), ("TRG", 1), ("LJI", 1)), None, (4.5, 6.5),
      (6.0, 12.0), (3.0, 25.0)),
    M("pelagicos_atlantico", "LTL", (("DOL", 3), ("KGM", 2), ("LTA", 2), ("GBA", 1), ("YFT", 1),
                                     ("SKJ", 1)), None, (4.5, 6.5), (6.0, 12.0), (15.0, 40.0),
      3.0),
    M("pulpo_veracruz", "MDV", (("OCC", 1),), None, (5.5, 7.5), (5.0, 9.0), (2.0, 12.0), 0.7),
)}

# Which fisheries the cooperatives of a region work, with weights.
REGION_METIERS: dict[str, tuple[tuple[str, float], ...]] = {
    "bc_pacifico": (("langosta_bc", 4), ("buceo_bc", 3), ("linea_bc", 3),
                    ("tiburon_pacifico", 2), ("escama_red_bc", 2)),
    "alto_golfo": (("corvina_golfina", 4), ("camaron_pacifico", 4), ("escama_red_pacifico", 3),
                   ("buceo_golfo_california", 1), ("tiburon_pacifico", 1)),
    "golfo_california": (("escama_red_pacifico", 3), ("linea_pacifico", 3),
                         ("buceo_golfo_california", 3), ("camaron_pacifico", 3),
                         ("jaiba_pacifico", 2), ("calamar", 2), ("tiburon_pacifico", 1)),
    "bcs_pacifico": (("langosta_bc", 3), ("buceo_golfo_california", 3), ("linea_pacifico", 2),
                     ("escama_red_pacifico", 2), ("camaron_pacifico", 2)),
    "pacifico_centro": (("linea_pacifico", 4), ("escama_red_pacifico", 3),
                        ("pelagicos_pacifico", 2), ("tiburon_pacifico", 2),
                        ("camaron_pacifico", 2), ("ostion_pacifico", 1),
                        ("langosta_buceo_sur", 1), ("jaiba_pacifico", 1)),
    "pacifico_sur": (("linea_pacifico", 3), ("tiburon_pacifico", 3), ("pelagicos_pacifico", 2),
                     ("escama_red_pacifico", 2), ("langosta_buceo_sur", 2),
                     ("camaron_pacifico", 2), ("ostion_pacifico", 1)),
    "golfo_norte": (("escama_red_golfo", 4), ("jaiba_golfo", 3), ("camaron_golfo", 3),
                    ("linea_golfo", 3), ("ostion_golfo", 2), ("tiburon_golfo", 2),
                    ("pulpo_veracruz", 1)),
    "campeche": (("camaron_golfo", 4), ("pulpo_yucatan", 3), ("escama_red_golfo", 3),
                 ("mero", 2), ("cangrejo_moro", 2), ("tiburon_golfo", 2), ("jaiba_golfo", 1)),
    "yucatan": (("pulpo_yucatan", 5), ("mero", 4), ("linea_golfo", 2), ("pepino_yucatan", 1),
                ("tiburon_golfo", 1), ("escama_red_golfo", 1)),
    "caribe": (("langosta_caribe", 5), ("arrecife_caribe", 3), ("caracol_caribe", 2),
               ("pelagicos_atlantico", 2)),
}
PORT_REGION = {"San Felipe": "alto_golfo", "Puerto Peñasco": "alto_golfo",
               "Puerto San Carlos": "bcs_pacifico", "Mazatlán": "pacifico_centro",
               "Ensenada": "bc_pacifico"}
STATE_REGION = {
    "Baja California": "bc_pacifico", "Baja California Sur": "golfo_california",
    "Sonora": "golfo_california", "Sinaloa": "golfo_california", "Nayarit": "pacifico_centro",
    "Jalisco": "pacifico_centro", "Colima": "pacifico_centro", "Michoacán": "pacifico_centro",
    "Guerrero": "pacifico_centro", "Oaxaca": "pacifico_sur", "Chiapas": "pacifico_sur",
    "Tamaulipas": "golfo_norte", "Veracruz": "golfo_norte", "Tabasco": "campeche",
    "Campeche": "campeche", "Yucatán": "yucatan", "Quintana Roo": "caribe",
}
COAST_REGION = {"pacific": "pacifico_centro", "atlantic": "golfo_norte"}
REGION_SURNAMES = {
    "bc_pacifico": "northwest", "alto_golfo": "northwest", "golfo_california": "northwest",
    "bcs_pacifico": "northwest", "pacifico_centro": "northwest", "pacifico_sur": "south",
    "golfo_norte": "gulf", "campeche": "peninsula", "yucatan": "peninsula", "caribe": "peninsula",
}
FAO_AREA = {"pacific": "77", "atlantic": "31"}
