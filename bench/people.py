"""Reference vocabulary for generated customers, shared by the seed (SQL) and B3 (Python).

Ten countries weighted like a southern-European travel business, four cities each with their own
time zone, region, phone prefix and postal code shape, and a few common names per country.
Phone numbers are `prefix + N random digits`, chosen inside mobile ranges that `phonenumbers`
accepts as valid. Email domains are the reserved example domains (nothing is ever deliverable).
"""

import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class City:
    name: str
    time_zone: str
    region: str
    phone_prefix: str  # E.164 prefix of a mobile range, e.g. "+35191"
    phone_digits: int  # random digits after the prefix
    postal: str  # "#" is a random digit
    trunk: str = ""  # national trunk prefix ("0" in the UK), for the national written form


@dataclass(frozen=True)
class Country:
    code: str
    weight: int  # percent of customers
    locale: str
    dial: str  # country calling code, without "+"
    number_first: bool  # "221 Baker Street" rather than "Rua Augusta 221"
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    streets: tuple[str, ...]
    cities: tuple[City, ...]


COUNTRIES: tuple[Country, ...] = (
    Country("PT", 22, "pt-PT", "351", False,
            ("João", "Maria", "Ana", "Pedro", "Inês", "Tiago", "Beatriz", "Rui"),
            ("Silva", "Santos", "Ferreira", "Pereira", "Oliveira", "Costa", "Rodrigues", "Martins"),
            ("Rua Augusta", "Avenida da Liberdade", "Rua de Santa Catarina", "Rua do Carmo"),
            (City("Lisboa", "Europe/Lisbon", "", "+35191", 7, "1###-###"),
             City("Porto", "Europe/Lisbon", "", "+35193", 7, "4###-###"),
             City("Braga", "Europe/Lisbon", "", "+35196", 7, "47##-###"),
             City("Funchal", "Atlantic/Madeira", "", "+35192", 7, "9###-###"))),
    Country("ES", 16, "es-ES", "34", False,
            ("Lucía", "Hugo", "Martina", "Pablo", "Sofía", "Daniel", "Carmen", "Javier"),
            ("García", "Fernández", "López", "Martínez", "Sánchez", "Gómez", "Ruiz", "Díaz"),
            ("Calle Mayor", "Gran Vía", "Calle de Alcalá", "Paseo del Prado"),
            (City("Madrid", "Europe/Madrid", "", "+346", 8, "280##"),
             City("Barcelona", "Europe/Madrid", "", "+346", 8, "080##"),
             City("Valencia", "Europe/Madrid", "", "+346", 8, "460##"),
             City("Las Palmas", "Atlantic/Canary", "", "+346", 8, "350##"))),
    Country("FR", 12, "fr-FR", "33", False,
            ("Camille", "Louis", "Léa", "Gabriel", "Chloé", "Jules", "Manon", "Hugo"),
            ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand"),
            ("Rue de Rivoli", "Rue Lepic", "Boulevard Voltaire", "Rue de la Paix"),
            (City("Paris", "Europe/Paris", "", "+3366", 7, "750##", "0"),
             City("Lyon", "Europe/Paris", "", "+3366", 7, "6900#", "0"),
             City("Marseille", "Europe/Paris", "", "+3366", 7, "130##", "0"),
             City("Bordeaux", "Europe/Paris", "", "+3366", 7, "330##", "0"))),
    Country("DE", 10, "de-DE", "49", False,
            ("Emma", "Paul", "Mia", "Leon", "Hannah", "Felix", "Lena", "Jonas"),
            ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker"),
            ("Hauptstraße", "Schillerstraße", "Gartenweg", "Bahnhofstraße"),
            (City("Berlin", "Europe/Berlin", "", "+49151", 8, "10###", "0"),
             City("München", "Europe/Berlin", "", "+49151", 8, "80###", "0"),
             City("Hamburg", "Europe/Berlin", "", "+49151", 8, "20###", "0"),
             City("Köln", "Europe/Berlin", "", "+49151", 8, "50###", "0"))),
    Country("GB", 10, "en-GB", "44", True,
            ("Olivia", "George", "Amelia", "Harry", "Isla", "Jack", "Emily", "Oscar"),
            ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans", "Walker"),
            ("High Street", "Station Road", "Church Lane", "Baker Street"),
            (City("London", "Europe/London", "", "+44789", 7, "SW1A #AA", "0"),
             City("Manchester", "Europe/London", "", "+44789", 7, "M1 #AE", "0"),
             City("Edinburgh", "Europe/London", "", "+44789", 7, "EH1 #QP", "0"),
             City("Bristol", "Europe/London", "", "+44789", 7, "BS1 #HG", "0"))),
    Country("US", 10, "en-US", "1", True,
            ("Liam", "Ava", "Noah", "Sophia", "Ethan", "Isabella", "Mason", "Harper"),
            ("Johnson", "Miller", "Davis", "Garcia", "Anderson", "Moore", "Clark", "Lewis"),
            ("Main Street", "Oak Avenue", "Maple Drive", "Park Place"),
            (City("New York", "America/New_York", "NY", "+12126", 6, "100##"),
             City("Chicago", "America/Chicago", "IL", "+13124", 6, "606##"),
             City("Denver", "America/Denver", "CO", "+13034", 6, "802##"),
             City("Los Angeles", "America/Los_Angeles", "CA", "+13106", 6, "900##"))),
    Country("IT", 8, "it-IT", "39", False,
            ("Giulia", "Leonardo", "Sofia", "Francesco", "Aurora", "Lorenzo", "Alessandro", "Chiara"),
            ("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci"),
            ("Via Roma", "Via Garibaldi", "Corso Italia", "Via Dante"),
            (City("Roma", "Europe/Rome", "", "+39347", 7, "001##"),
             City("Milano", "Europe/Rome", "", "+39347", 7, "201##"),
             City("Napoli", "Europe/Rome", "", "+39347", 7, "801##"),
             City("Firenze", "Europe/Rome", "", "+39347", 7, "501##"))),
    Country("NL", 5, "nl-NL", "31", False,
            ("Daan", "Julia", "Sem", "Tess", "Lucas", "Zoë", "Finn", "Saar"),
            ("de Jong", "Jansen", "de Vries", "van Dijk", "Bakker", "Visser", "Smit", "Meijer"),
            ("Kerkstraat", "Dorpsstraat", "Stationsweg", "Molenweg"),
            (City("Amsterdam", "Europe/Amsterdam", "", "+3162", 7, "10## AB", "0"),
             City("Rotterdam", "Europe/Amsterdam", "", "+3162", 7, "30## CD", "0"),
             City("Utrecht", "Europe/Amsterdam", "", "+3162", 7, "35## EF", "0"),
             City("Den Haag", "Europe/Amsterdam", "", "+3162", 7, "25## GH", "0"))),
    Country("BR", 5, "pt-BR", "55", False,
            ("Miguel", "Alice", "Arthur", "Laura", "Heitor", "Valentina", "Davi", "Helena"),
            ("Souza", "Lima", "Carvalho", "Almeida", "Ribeiro", "Gomes", "Araújo", "Barbosa"),
            ("Avenida Paulista", "Rua das Flores", "Rua XV de Novembro", "Avenida Atlântica"),
            (City("São Paulo", "America/Sao_Paulo", "SP", "+55119", 8, "01###-###"),
             City("Rio de Janeiro", "America/Sao_Paulo", "RJ", "+55219", 8, "20###-###"),
             City("Belo Horizonte", "America/Sao_Paulo", "MG", "+55319", 8, "30###-###"),
             City("Brasília", "America/Sao_Paulo", "DF", "+55619", 8, "70###-###"))),
    Country("IE", 2, "en-IE", "353", True,
            ("Jack", "Grace", "Conor", "Aoife", "Seán", "Niamh", "Cian", "Saoirse"),
            ("Murphy", "Kelly", "O'Sullivan", "Walsh", "Byrne", "Ryan", "O'Brien", "Doyle"),
            ("Main Street", "Church Road", "Mill Lane", "Strand Road"),
            (City("Dublin", "Europe/Dublin", "", "+35387", 7, "D02 X###", "0"),
             City("Cork", "Europe/Dublin", "", "+35387", 7, "T12 Y###", "0"),
             City("Galway", "Europe/Dublin", "", "+35387", 7, "H91 Z###", "0"),
             City("Limerick", "Europe/Dublin", "", "+35387", 7, "V94 W###", "0"))),
)  # fmt: skip

CITY_WEIGHTS = (3, 2, 1, 1)  # the first city of a country is the biggest
EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com", "post.example.org")
TIERS = ((55, ""), (25, "silver"), (14, "gold"), (6, "platinum"))  # (percent, tier)
SEGMENTS = ("leisure", "business", "family", "couple", "solo")
TOPICS = ("offers", "news", "events", "travel-tips")
SIGNUP_CHANNELS = ("web", "app", "front_desk", "partner")

assert sum(c.weight for c in COUNTRIES) == 100
assert all(len(c.cities) == 4 and len(c.first_names) == 8 and len(c.last_names) == 8 for c in COUNTRIES)


def ascii_name(name: str) -> str:
    """`O'Sullivan` -> `osullivan`, `Müller` -> `muller`: the form used in email addresses."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return "".join(ch for ch in folded if ch.isalnum())


# How each country groups the digits of a national mobile number (trunk prefix included).
_GROUPS = {"351": (3, 3, 3), "34": (3, 3, 3), "33": (2, 2, 2, 2, 2), "49": (4, 8), "44": (5, 6),
           "39": (3, 3, 4), "31": (2, 8), "353": (3, 3, 4)}  # fmt: skip


def national_form(country: Country, city: City, digits: str) -> str:
    """How a customer would type their mobile number at home: `07897 230068`, `(212) 609-1533`."""
    national = city.phone_prefix.removeprefix("+" + country.dial) + digits
    if country.dial == "1":
        return f"({national[:3]}) {national[3:6]}-{national[6:]}"
    if country.dial == "55":
        return f"({national[:2]}) {national[2:7]}-{national[7:]}"
    national = city.trunk + national
    groups, start = [], 0
    for size in _GROUPS[country.dial]:
        groups.append(national[start : start + size])
        start += size
    return " ".join(groups)
