"""The demo household's world as data: its accounts, cities, employers, bills, merchants and friends."""

from __future__ import annotations

from dataclasses import dataclass

# Categories are named by their pt-BR default (parent, child); the service translates them to the book's locale.
Cat = tuple[str, str | None]

SALARY: Cat = ("Renda", "Salário")
FREELANCE: Cat = ("Renda", "Freelance")
YIELD: Cat = ("Renda", "Rendimentos")
REFUND: Cat = ("Renda", "Reembolsos")
RENT: Cat = ("Moradia", "Aluguel")
CONDO: Cat = ("Moradia", "Condomínio")
ENERGY: Cat = ("Moradia", "Energia")
WATER: Cat = ("Moradia", "Água")
GAS: Cat = ("Moradia", "Gás")
INTERNET: Cat = ("Moradia", "Internet")
PROPERTY_TAX: Cat = ("Moradia", "IPTU")
UPKEEP: Cat = ("Moradia", "Manutenção")
GROCERIES: Cat = ("Alimentação", "Supermercado")
RESTAURANTS: Cat = ("Alimentação", "Restaurantes")
DELIVERY: Cat = ("Alimentação", "Delivery")
BAKERY: Cat = ("Alimentação", "Padaria")
MARKET: Cat = ("Alimentação", "Feira")
FUEL: Cat = ("Transporte", "Combustível")
RIDES: Cat = ("Transporte", "Aplicativos de transporte")
PARKING: Cat = ("Transporte", "Estacionamento")
VEHICLE_TAX: Cat = ("Transporte", "IPVA")
HEALTH_PLAN: Cat = ("Saúde", "Plano de saúde")
PHARMACY: Cat = ("Saúde", "Farmácia")
GYM: Cat = ("Saúde", "Academia")
COURSES: Cat = ("Educação", "Cursos")
BOOKS: Cat = ("Educação", "Livros")
STREAMING: Cat = ("Lazer", "Streaming")
TRAVEL: Cat = ("Lazer", "Viagens")
SHOWS: Cat = ("Lazer", "Cinema e shows")
HOBBIES: Cat = ("Lazer", "Hobbies")
CLOTHING: Cat = ("Compras", "Roupas")
ELECTRONICS: Cat = ("Compras", "Eletrônicos")
HOME: Cat = ("Compras", "Casa e decoração")
GIFTS: Cat = ("Compras", "Presentes")
BANK_FEES: Cat = ("Serviços financeiros", "Tarifas bancárias")
IOF: Cat = ("Serviços financeiros", "IOF")
PERSONAL_CARE: Cat = ("Pessoal", "Cuidados pessoais")
PETS: Cat = ("Pessoal", "Pets")

TRIP_TAG = "viagem"
WORK_TAG = "reembolsável"

# key: (name, type, currency, opening balance). Names stay Brazilian in every locale: it is a Brazilian household.
ACCOUNTS: dict[str, tuple[str, str, str, str]] = {
    "checking": ("Itaú Conta Corrente", "checking", "BRL", "4200.00"),
    "savings": ("Poupança Itaú", "savings", "BRL", "18500.00"),
    "card": ("Cartão Nubank", "credit_card", "BRL", "0.00"),
    "usd": ("Cartão Internacional", "credit_card", "USD", "0.00"),
}


@dataclass(frozen=True)
class City:
    energy: tuple[str, str]  # (description, payee)
    water: tuple[str, str]
    gas: tuple[str, str]
    property_tax: str


CITIES = [
    City(
        ("ENEL SP DEB AUTOMATICO", "Enel"), ("SABESP DEB AUTOMATICO", "Sabesp"), ("COMGAS", "Comgás"), "IPTU SAO PAULO"
    ),
    City(("CEMIG DISTRIBUICAO", "Cemig"), ("COPASA", "Copasa"), ("GASMIG", "Gasmig"), "IPTU BELO HORIZONTE"),
    City(
        ("LIGHT SERVICOS ELETRICIDADE", "Light"), ("AGUAS DO RIO", "Águas do Rio"), ("NATURGY", "Naturgy"), "IPTU RIO"
    ),
]

# (description, payee, first net salary range in BRL, month of the yearly raise)
EMPLOYERS = [
    ("SALARIO ACME TECNOLOGIA LTDA", "Acme Tecnologia Ltda", (7400, 8600), 9),
    ("SALARIO HOSPITAL SANTA CLARA S A", "Hospital Santa Clara", (4600, 5400), 5),
]

# (upper-case name as the bank prints it, payee)
FRIENDS = [
    ("JOAO SILVA", "João Silva"),
    ("MARIA OLIVEIRA", "Maria Oliveira"),
    ("PEDRO HENRIQUE SANTOS", "Pedro Henrique Santos"),
    ("JULIANA COSTA", "Juliana Costa"),
    ("LUCAS PEREIRA", "Lucas Pereira"),
    ("FERNANDA LIMA", "Fernanda Lima"),
    ("RAFAEL ALMEIDA", "Rafael Almeida"),
    ("BEATRIZ FERREIRA", "Beatriz Ferreira"),
]
CLEANER = ("MARIA APARECIDA DOS SANTOS", "Maria Aparecida dos Santos")
GREENGROCER = ("JOSE CARLOS HORTIFRUTI", "José Carlos Hortifruti")


@dataclass(frozen=True)
class Merchant:
    payee: str
    descriptions: tuple[str, ...]
    category: Cat
    per_month: tuple[int, int]
    amount: tuple[str, str]  # inclusive range, in the account's currency
    months: tuple[int, ...] = ()  # only in these months; every month when empty
    splittable: bool = False  # sometimes split between groceries and home items
    work: bool = False  # sometimes a work expense, tagged and refunded the next month


# Purchases on the BRL card, drawn every month.
CARD_MERCHANTS = [
    Merchant(
        "Supermercado Pão de Açúcar",
        ("PAO DE ACUCAR 1184", "PAO DE ACUCAR 0312"),
        GROCERIES,
        (1, 3),
        ("95", "620"),
        splittable=True,
    ),
    Merchant("Carrefour", ("CARREFOUR HIPER", "CARREFOUR EXPRESS"), GROCERIES, (1, 2), ("120", "780"), splittable=True),
    Merchant("Assaí Atacadista", ("ASSAI ATACADISTA",), GROCERIES, (0, 1), ("250", "900"), splittable=True),
    Merchant("Padaria São João", ("PADARIA SÃO JOÃO", "PADARIA SAO JOAO LTDA"), BAKERY, (4, 9), ("8.50", "46")),
    Merchant("Café do Ponto", ("CAFÉ DO PONTO",), BAKERY, (0, 4), ("7.90", "28")),
    Merchant("iFood", ("IFOOD *IFOOD", "IFD*RESTAURANTE SABOR"), DELIVERY, (3, 7), ("32", "128"), work=True),
    Merchant("Restaurante Coco Bambu", ("COCO BAMBU",), RESTAURANTS, (0, 1), ("160", "390"), work=True),
    Merchant("Madero", ("MADERO STEAK HOUSE",), RESTAURANTS, (0, 2), ("70", "210")),
    Merchant("Bar do Zé", ("BAR DO ZÉ", "BAR DO ZE PINHEIROS"), RESTAURANTS, (0, 3), ("45", "180")),
    Merchant("Uber", ("UBER *TRIP", "UBER *UBER *TRIP"), RIDES, (2, 8), ("11.90", "58"), work=True),
    Merchant("99", ("99 *POP", "99APP *99POP"), RIDES, (0, 4), ("9.80", "42")),
    Merchant("Posto Shell", ("POSTO SHELL AV BRASIL", "SHELL BOX"), FUEL, (1, 3), ("140", "290")),
    Merchant("Posto Ipiranga", ("POSTO IPIRANGA", "AUTO POSTO IPIRANGA"), FUEL, (0, 2), ("120", "280")),
    Merchant("Drogasil", ("DROGASIL 2214",), PHARMACY, (0, 2), ("18", "190")),
    Merchant("Droga Raia", ("DROGA RAIA 4102", "RAIA DROGASIL SA"), PHARMACY, (0, 2), ("15", "160")),
    Merchant("Mercado Livre", ("MERCADOLIVRE*VENDEDOR", "MERCADO LIVRE"), HOME, (0, 2), ("35", "480")),
    Merchant("Amazon.com.br", ("AMAZON BR", "AMAZON MARKETPLACE"), ELECTRONICS, (0, 2), ("29", "650")),
    Merchant("Renner", ("LOJAS RENNER",), CLOTHING, (0, 1), ("79", "420")),
    Merchant("C&A", ("C&A MODAS",), CLOTHING, (0, 1), ("49", "260")),
    Merchant("Petz", ("PETZ",), PETS, (0, 1), ("60", "310")),
    Merchant("Cinemark", ("CINEMARK", "CINEMARK ELDORADO"), SHOWS, (0, 1), ("38", "120")),
    Merchant("Estapar", ("ESTAPAR ESTACIONAMENTO",), PARKING, (0, 2), ("12", "45")),
    Merchant("Salão Beleza & Cia", ("SALÃO BELEZA E CIA",), PERSONAL_CARE, (0, 1), ("45", "220")),
    Merchant("Livraria da Travessa", ("LIVRARIA DA TRAVESSA",), GIFTS, (2, 5), ("49", "260"), months=(12,)),
    Merchant("Amazon.com.br", ("AMAZON BR",), GIFTS, (1, 3), ("60", "450"), months=(5, 6, 12)),
    Merchant("Natura", ("NATURA COSMETICOS",), GIFTS, (0, 2), ("70", "290"), months=(5, 12)),
]

# (description, payee, category, day of month, amount) charged to the BRL card every month.
CARD_SUBSCRIPTIONS = [
    ("NETFLIX.COM", "Netflix", STREAMING, 7, "44.90"),
    ("SPOTIFY", "Spotify", STREAMING, 15, "34.90"),
    ("SMARTFIT", "Smart Fit", GYM, 5, "119.90"),
    ("CLARO MOVEL", "Claro", INTERNET, 20, "69.90"),
]

# Purchases in dollars on the international card.
USD_MERCHANTS = [
    Merchant("Apple", ("APPLE.COM/BILL",), STREAMING, (1, 1), ("2.99", "2.99")),
    Merchant("Steam", ("STEAMGAMES.COM 4259522985",), HOBBIES, (0, 1), ("4.99", "59.99")),
    Merchant("Amazon.com", ("AMAZON.COM*MK2LQ0", "AMZN MKTP US"), ELECTRONICS, (0, 1), ("12.00", "140.00")),
    Merchant("Amazon Kindle", ("AMAZON DIGITAL SVCS KINDLE",), BOOKS, (0, 1), ("2.99", "14.99")),
]

# Trips: domestic ones on the BRL card, the occasional one abroad partly in dollars.
DOMESTIC_TRIP = [
    Merchant("LATAM Airlines", ("LATAM AIRLINES BRASIL",), TRAVEL, (1, 1), ("780", "2300")),
    Merchant("Booking.com", ("BOOKING.COM HOTEL",), TRAVEL, (1, 1), ("900", "3200")),
    Merchant("Restaurante Mangai", ("RESTAURANTE MANGAI",), RESTAURANTS, (2, 5), ("90", "320")),
    Merchant("Uber", ("UBER *TRIP",), RIDES, (2, 5), ("14", "65")),
]
ABROAD_TRIP_BRL = [Merchant("LATAM Airlines", ("LATAM AIRLINES BRASIL",), TRAVEL, (1, 1), ("3400", "6800"))]
ABROAD_TRIP_USD = [
    Merchant("Marriott", ("MARRIOTT ORLANDO",), TRAVEL, (1, 1), ("620.00", "1450.00")),
    Merchant("Uber", ("UBER *TRIP HELP.UBER.COM",), RIDES, (3, 7), ("9.00", "48.00")),
    Merchant("Cheesecake Factory", ("THE CHEESECAKE FACTORY",), RESTAURANTS, (2, 4), ("38.00", "140.00")),
    Merchant("Orlando Premium Outlets", ("ORLANDO PREMIUM OUTLETS",), CLOTHING, (1, 2), ("80.00", "520.00")),
]

# IOF on card purchases abroad, by year: it is being phased down (and was raised again in 2025).
IOF_RATE = {2022: "0.0638", 2023: "0.0538", 2024: "0.0438", 2025: "0.035"}

# Rough value of one unit in US dollars, for base currencies other than BRL and USD (BRL follows a random walk).
USD_VALUE = {
    "USD": "1",
    "EUR": "1.08",
    "GBP": "1.27",
    "CHF": "1.12",
    "CAD": "0.74",
    "AUD": "0.66",
    "JPY": "0.0068",
    "ARS": "0.0011",
    "MXN": "0.055",
    "CLP": "0.00105",
    "COP": "0.00025",
    "PEN": "0.27",
    "UYU": "0.025",
}
