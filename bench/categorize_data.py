"""A year of a Brazilian household's bank lines, labeled by category, for the categorization benchmark."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass

YEAR = 2025
CITIES = [
    "SAO PAULO",
    "SAO PAULO SP",
    "SAO PAULO BR",
    "SAO PAULO BRA",
    "OSASCO",
    "GUARULHOS",
    "CAMPINAS",
    "SANTOS",
    "RIO DE JANEIRO",
    "SAO BERNARDO",
    "SANTO ANDRE",
    "BRASILIA",
]


@dataclass(frozen=True)
class Txn:
    date: dt.date
    payee: str
    description: str
    memo: str
    category: str


@dataclass(frozen=True)
class Merchant:
    names: tuple[str, ...]  # spellings the banks use; {n} is a store number
    category: str
    per_month: float
    channels: tuple[str, ...] = ("credit", "debit")
    other: tuple[tuple[str, float], ...] = ()  # (category, share): the same shop bought for another reason


# Chains and regular places of a household in greater São Paulo. Several share words on purpose
# (UBER trip vs UBER EATS, IFOOD vs IFOOD MERCADO, DROGA RAIA vs DROGASIL, two MARIAs).
MERCHANTS = [
    Merchant(
        ("PAO DE ACUCAR {n}", "SUPERMERCADO PAO DE ACUCAR {n}", "CBD PAO DE ACUCAR LJ {n}", "Pão de Açúcar"),
        "Supermercado",
        4,
        other=(("Casa", 0.08),),
    ),
    Merchant(
        ("CARREFOUR {n}", "CARREFOUR COM BRASIL {n}", "CARREFOUR HIPER {n}", "Carrefour"),
        "Supermercado",
        2,
        other=(("Casa", 0.1),),
    ),
    Merchant(("ASSAI ATACADISTA {n}", "ASSAI ATACAD LJ{n}", "Assaí Atacadista"), "Supermercado", 1),
    Merchant(("HORTIFRUTI {n}", "OBA HORTIFRUTI {n}", "Oba Hortifruti"), "Supermercado", 1.5),
    Merchant(
        ("PADARIA REAL {n}", "PANIFICADORA REAL LTDA", "Padaria Real"), "Padaria", 6, ("debit", "credit", "pix_biz")
    ),
    Merchant(
        ("PADARIA BELLA VISTA", "PAG*PADARIABELLAVISTA", "Padaria Bella Vista"), "Padaria", 3, ("debit", "pix_biz")
    ),
    Merchant(("IFD*IFOOD CLUB", "IFOOD *IFOOD CLUB", "IFOOD CLUB {n}"), "Assinaturas", 1, ("credit",)),
    Merchant(("IFD*{restaurant}", "IFOOD *{restaurant}", "IFD*IFOOD.COM AGENCIA DE RES"), "Delivery", 6, ("credit",)),
    Merchant(("IFD*IFOOD MERCADO", "IFOOD *MERCADO {n}"), "Supermercado", 0.7, ("credit",)),
    Merchant(("RAPPI*{restaurant}", "RAPPI BRASIL {n}", "Rappi"), "Delivery", 1.5, ("credit",)),
    Merchant(
        ("UBER *TRIP HELP.UBER.COM", "UBER *TRIP", "UBER DO BRASIL TECNOLOGIA", "Uber"), "Transporte", 8, ("credit",)
    ),
    Merchant(("UBER *EATS HELP.UBER.COM", "UBER *EATS PENDING", "Uber Eats"), "Delivery", 1.5, ("credit",)),
    Merchant(("99APP *99APP", "99 TECNOLOGIA LTDA", "99 Pop"), "Transporte", 3, ("credit",)),
    Merchant(("SEM PARAR {n}", "SEMPARAR*MENSALIDADE", "Sem Parar"), "Carro", 1, ("credit",)),
    Merchant(
        ("AUTO POSTO SHELL {n}", "POSTO SHELL SELECT {n}", "SHELL BOX*{n}", "Shell"),
        "Combustível",
        2,
        ("credit", "debit"),
    ),
    Merchant(
        ("AUTO POSTO IPIRANGA {n}", "POSTO IPIRANGA {n}", "AUTO POSTO PIT STOP"),
        "Combustível",
        1.5,
        ("credit", "debit"),
    ),
    Merchant(("ESTAPAR {n}", "ESTACIONAMENTO ESTAPAR", "ZONA AZUL DIGITAL"), "Carro", 1.5, ("credit", "debit")),
    Merchant(("DROGASIL {n}", "RD DROGASIL {n}", "Drogasil"), "Farmácia", 2, ("credit", "debit")),
    Merchant(("DROGARIA SAO PAULO {n}", "DROGARIA SP {n}", "DPSP {n}"), "Farmácia", 1.5, ("credit", "debit")),
    Merchant(("DROGA RAIA {n}", "RAIA {n}", "Droga Raia"), "Farmácia", 1, ("credit", "debit")),
    Merchant(("SMARTFIT {n}", "SMART FIT ACADEMIA", "SmartFit"), "Academia", 1, ("credit",)),
    Merchant(("NETFLIX.COM", "NETFLIX ENTRETENIMENTO", "Netflix"), "Assinaturas", 1, ("credit",)),
    Merchant(("SPOTIFY", "SPOTIFY P{n}", "Spotify"), "Assinaturas", 1, ("credit",)),
    Merchant(("AMAZON PRIME BR", "AMAZONPRIMEBR", "Amazon Prime"), "Assinaturas", 1, ("credit",)),
    Merchant(("DL*GOOGLE YouTube", "GOOGLE YOUTUBE PREMIUM", "YouTube Premium"), "Assinaturas", 1, ("credit",)),
    Merchant(
        ("AMAZON MKTPLACE", "AMAZON.COM.BR", "AMAZON BR {n}", "Amazon"),
        "Compras online",
        2,
        ("credit",),
        (("Casa", 0.25), ("Educação", 0.1)),
    ),
    Merchant(
        ("MERCADOLIVRE*{shop}", "MP*{shop}", "MERCADO LIVRE"), "Compras online", 1.5, ("credit",), (("Casa", 0.2),)
    ),
    Merchant(("RENNER {n}", "LOJAS RENNER {n}", "Renner"), "Vestuário", 0.6, ("credit",)),
    Merchant(("CENTAURO {n}", "CENTAURO LJ {n}"), "Vestuário", 0.3, ("credit",)),
    Merchant(("LEROY MERLIN {n}", "LEROY MERLIN CIA BRASILEIRA"), "Casa", 0.4, ("credit",)),
    Merchant(("PETZ {n}", "PET CENTER MARGINAL", "Petz"), "Pets", 1, ("credit", "debit")),
    Merchant(("COBASI {n}", "Cobasi"), "Pets", 0.5, ("credit", "debit")),
    Merchant(("CINEMARK {n}", "CINEMARK BRASIL", "Cinemark"), "Lazer", 0.6, ("credit",)),
    Merchant(("OUTBACK {n}", "OUTBACK STEAKHOUSE {n}"), "Restaurantes", 0.6, ("credit",)),
    Merchant(
        ("RESTAURANTE SABOR CASEIRO", "SABOR CASEIRO REST", "Sabor Caseiro"),
        "Restaurantes",
        3,
        ("debit", "credit", "pix_biz"),
    ),
    Merchant(("BAR DO ZE", "BAR E LANCHES DO ZE", "PAG*BARDOZE"), "Restaurantes", 1.5, ("debit", "pix_biz")),
    Merchant(("STARBUCKS {n}", "Starbucks"), "Restaurantes", 1, ("credit",)),
    Merchant(("LATAM AIR {n}", "LATAM AIRLINES BRASIL"), "Viagem", 0.15, ("credit",)),
    Merchant(("AIRBNB * {n}", "AIRBNB HMQ{n}"), "Viagem", 0.15, ("credit",)),
    Merchant(("UNIMED SEGUROS SAUDE", "UNIMED PAULISTANA"), "Saúde", 0.2, ("credit",)),
    Merchant(("LAB FLEURY {n}", "FLEURY MEDICINA E SAUDE"), "Saúde", 0.3, ("credit", "debit")),
]

# Paid monthly from the checking account: (spellings, category, day of month).
BILLS = [
    (("DEB AUTOMATICO ENEL SP", "DEB AUT ENEL DISTRIBUICAO SAO PAULO", "PAGTO CONTA LUZ ENEL"), "Energia", 10),
    (("DEB AUTOMATICO SABESP", "PAGTO CONTA AGUA SABESP {n}"), "Água", 12),
    (("COMGAS", "DEB AUT COMGAS {n}"), "Gás", 14),
    (("VIVO FIBRA", "TELEFONICA BRASIL VIVO", "DEB AUT VIVO {n}"), "Internet e telefone", 8),
    (("CLARO CELULAR", "CLARO S.A. {n}"), "Internet e telefone", 18),
    (("PAGAMENTO BOLETO CONDOMINIO ED SOLAR", "PAGTO BOLETO COND ED SOLAR DAS AGUAS"), "Condomínio", 5),
    (("PAGAMENTO BOLETO COLEGIO SANTA MARIA", "PAG BOLETO COLEGIO STA MARIA MENSALIDADE"), "Educação", 7),
    (("AMIL ASSISTENCIA MEDICA", "PAGTO BOLETO AMIL SAUDE"), "Saúde", 15),
]

# People paid or paid by Pix, each with a category that holds for them (the two Marias differ).
PEOPLE = [
    ("ROBERTO ALVES DE SOUZA", "Aluguel", "out", 1, 5),
    ("MARIA SANTOS", "Diarista", "out", 4, None),
    ("MARIA LUCIA FERREIRA", "Família", "out", 1, 20),
    ("JOAO PEDRO FERREIRA", "Família", "out", 0.5, None),
    ("CARLOS PERSONAL TRAINER", "Academia", "out", 1, 3),
    ("ANA PAULA COSTA", "Reembolsos", "in", 1, None),
    ("LUCAS OLIVEIRA", "Reembolsos", "in", 0.7, None),
]
EMPLOYERS = [("ACME TECNOLOGIA LTDA", 5), ("HOSPITAL SAO LUIZ S.A.", 30)]

RESTAURANTS = [
    "BURGER KING",
    "MC DONALDS",
    "PIZZARIA BELLA NAPOLI",
    "HABIBS",
    "SUSHI ZEN",
    "MADERO",
    "SPOLETO",
    "TEMPERO DA VOVO",
]
SHOPS = ["KABUM", "MAGALU", "LOJA DO ZE", "CASAS BAHIA", "TECH STORE"]
# One-off places: a kind of shop (the words a person or a model can generalise from) and a made-up name.
KINDS = [
    ("RESTAURANTE", "Restaurantes"),
    ("LANCHONETE", "Restaurantes"),
    ("CHURRASCARIA", "Restaurantes"),
    ("PADARIA", "Padaria"),
    ("PANIFICADORA", "Padaria"),
    ("AUTO POSTO", "Combustível"),
    ("POSTO", "Combustível"),
    ("DROGARIA", "Farmácia"),
    ("FARMACIA", "Farmácia"),
    ("PET SHOP", "Pets"),
    ("ESTACIONAMENTO", "Carro"),
    ("HOTEL", "Viagem"),
    ("POUSADA", "Viagem"),
    ("MERCADO", "Supermercado"),
    ("", "Compras"),
    ("", "Restaurantes"),
    ("", "Casa"),
]
NAMES = [
    "ESTRELA",
    "BOA VISTA",
    "SAO JORGE",
    "NOVA ERA",
    "DO PORTO",
    "PRIMAVERA",
    "CENTRAL",
    "AVENIDA",
    "JARDIM",
    "IDEAL",
]
OWNERS = ["M A SILVA", "J R COMERCIO", "FERNANDES E FILHOS", "COSTA ME", "NASCIMENTO EIRELI", "TANAKA", "RIBEIRO LTDA"]
STRANGERS = ["PEDRO HENRIQUE LIMA", "JULIANA MARTINS", "RAFAEL GOMES", "BEATRIZ ROCHA", "FELIPE ARAUJO", "CAMILA DIAS"]


class Generator:
    """Deterministic by seed: the same seed gives the same year."""

    def __init__(self, seed: int = 7, scale: float = 2.5) -> None:
        self.rng = random.Random(seed)
        self.scale = scale  # how busy the household is: purchases per month relative to the table
        self.card = [f"{self.rng.randint(1000, 9999)}" for _ in range(2)]
        self.home = {id(m): self.rng.sample(CITIES, 3) for m in MERCHANTS}
        self.stores = {id(m): [self.rng.randint(10, 9999) for _ in range(4)] for m in MERCHANTS}

    def history(self) -> list[Txn]:
        rows = [*self._shopping(), *self._bills(), *self._people(), *self._one_offs()]
        rows.sort(key=lambda t: (t.date, t.description))
        return rows

    def _day(self, month: int) -> dt.date:
        return dt.date(YEAR, month, self.rng.randint(1, 28))

    def _store(self, m: Merchant) -> str:
        # Mostly the shops near home, sometimes one never seen before.
        r = self.rng
        return str(r.choice(self.stores[id(m)]) if r.random() < 0.75 else r.randint(1, 99999)).zfill(
            r.choice((0, 3, 4))
        )

    def _fill(self, template: str, m: Merchant | None = None) -> str:
        r = self.rng
        return template.format(
            n=self._store(m) if m else r.randint(1, 9999),
            restaurant=r.choice(RESTAURANTS),
            shop=r.choice(SHOPS),
        )

    def _line(self, name: str, channel: str, day: dt.date, city: str) -> tuple[str, str, str]:
        """(payee, description, memo) as different banks print a purchase."""
        r = self.rng
        card = r.choice(self.card)
        if name[:1].isupper() and not name.isupper():  # a fintech app's tidy name: no noise, no payee
            return "", name, r.choice(("", f"Compra no cartão final {card}"))
        if channel == "pix_biz":
            return (
                "",
                f"Pix enviado - {name.split('*')[-1]}",
                r.choice(("", f"Pix {day:%d/%m} {r.randint(10, 23)}:{r.randint(0, 59):02}")),
            )
        if channel == "debit":
            desc = r.choice(
                (
                    f"COMPRA CARTAO DEB {day:%d/%m} {name}",
                    f"Compra no débito - {name}",
                    f"COMPRA NO DEBITO {name} {city}",
                    f"DEB {card} {day:%d%m} {name}",
                )
            )
            return "", desc, ""
        # Card statements truncate the name to fit a fixed-width field before the city.
        field = name[: r.choice((22, 25, 40))].ljust(r.choice((0, 23)))
        desc = f"{field} {city}" if r.random() < 0.7 else field
        memo = r.choice(("", "", f"Parcela {r.randint(1, 3)}/3", f"CARTAO FINAL {card}"))
        return r.choice(("", "", name)), " ".join(desc.split()), memo

    def _shopping(self) -> Iterator[Txn]:
        r = self.rng
        for m in MERCHANTS:
            for month in range(1, 13):
                for _ in range(_poisson(r, m.per_month * self.scale)):
                    day = self._day(month)
                    name = self._fill(r.choice(m.names), m)
                    city = r.choice(self.home[id(m)]) if r.random() < 0.9 else r.choice(CITIES)
                    category = m.category
                    roll = r.random()
                    for other, share in m.other:
                        if roll < share:
                            category = other
                            break
                        roll -= share
                    yield Txn(day, *self._line(name, r.choice(m.channels), day, city), category)

    def _bills(self) -> Iterator[Txn]:
        r = self.rng
        for names, category, dom in BILLS:
            for month in range(1, 13):
                day = dt.date(YEAR, month, min(28, dom + r.randint(-2, 3)))
                desc = self._fill(r.choice(names))
                yield Txn(
                    day, "", desc, r.choice(("", f"REF {month:02}/{YEAR}", f"COD {r.randint(10**9, 10**10)}")), category
                )
        for employer, dom in EMPLOYERS:
            for month in range(1, 13):
                day = dt.date(YEAR, month, min(28, dom)) if dom <= 28 else dt.date(YEAR, month, 28)
                desc = r.choice((f"CRED SALARIO {employer}", f"TED RECEBIDA {employer}", f"Pix recebido - {employer}"))
                yield Txn(day, "", desc, r.choice(("", f"FOLHA {month:02}/{YEAR}")), "Salário")

    def _people(self) -> Iterator[Txn]:
        r = self.rng
        for name, category, direction, per_month, dom in PEOPLE:
            for month in range(1, 13):
                n = 1 if dom else _poisson(r, per_month)
                for _ in range(n):
                    day = dt.date(YEAR, month, dom) if dom else self._day(month)
                    # Banks print the counterparty in full, abbreviated or truncated.
                    first, *rest = name.split()
                    shown = r.choice((name, f"{first} {rest[0][0]}", f"{first} {rest[0]}", name[:18]))
                    verb = "enviado" if direction == "out" else "recebido"
                    desc = r.choice(
                        (f"Pix {verb} - {shown}", f"PIX {verb.upper()} {shown}", f"TRANSF {verb[:-1].upper()}A {shown}")
                    )
                    yield Txn(
                        day,
                        "",
                        desc,
                        r.choice(("", f"{day:%d/%m} {r.randint(0, 23):02}:{r.randint(0, 59):02}")),
                        category,
                    )

    def _one_offs(self) -> Iterator[Txn]:
        r = self.rng
        for month in range(1, 13):
            for _ in range(_poisson(r, 12 * self.scale)):
                day = self._day(month)
                kind, category = r.choice(KINDS)
                name = " ".join(filter(None, (kind, r.choice(NAMES + OWNERS))))
                yield Txn(day, *self._line(name, r.choice(("credit", "debit")), day, r.choice(CITIES)), category)
            for _ in range(_poisson(r, 1.5)):
                day = self._day(month)
                desc = f"Pix enviado - {r.choice(STRANGERS)}"
                yield Txn(day, "", desc, "", r.choice(("Restaurantes", "Compras", "Reembolsos", "Lazer")))


def _poisson(r: random.Random, mean: float) -> int:
    # Knuth's method: fine for the small monthly means here.
    limit, k, p = pow(2.718281828459045, -mean), 0, 1.0
    while True:
        p *= r.random()
        if p <= limit:
            return k
        k += 1
