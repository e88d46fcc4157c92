"""A Brazilian household's ledger, made up deterministically for the benchmark: merchants, payees, amounts."""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from fintrack.ledger.models import AccountType
from fintrack.transactions.schemas import SplitIn, TransactionCreate

END = dt.date(2026, 11, 22)
CENT = Decimal("0.01")
YEARS = 12

# (name, type, share of the rows): cards and the main checking account carry most of the traffic.
ACCOUNTS = [
    ("Nubank Cartão", AccountType.credit_card, 0.30),
    ("Itaú Conta Corrente", AccountType.checking, 0.22),
    ("C6 Cartão", AccountType.credit_card, 0.15),
    ("Nubank Conta", AccountType.checking, 0.12),
    ("Inter", AccountType.checking, 0.08),
    ("Carteira", AccountType.cash, 0.08),
    ("Poupança Caixa", AccountType.savings, 0.03),
    ("XP Investimentos", AccountType.investment, 0.02),
]


@dataclass(frozen=True)
class Merchant:
    description: str  # {n} becomes a store number, {who} a person, {shop} a shop name
    payee: str | None
    category: str | None  # a subcategory of the pt-BR defaults
    weight: float
    typical: float  # BRL; the sign says income or expense


# Weights are relative frequencies; about 4 % of rows match "mercado" (SUPERMERCADO, MERCADO LIVRE, ...),
# "MERCADINHO" deliberately does not.
MERCHANTS = [
    Merchant("SUPERMERCADO PAO DE ACUCAR {n}", "Pão de Açúcar", "Supermercado", 1.5, -180),
    Merchant("MERCADO LIVRE*{shop}", "Mercado Livre", "Eletrônicos", 0.7, -120),
    Merchant("HIPERMERCADO EXTRA {n}", "Extra", "Supermercado", 0.4, -220),
    Merchant("SUPERMERCADO DIA {n}", "Supermercado Dia", "Supermercado", 0.5, -80),
    Merchant("MERCADINHO SÃO JOSÉ", "Mercadinho São José", "Supermercado", 0.8, -45),
    Merchant("CARREFOUR {n}", "Carrefour", "Supermercado", 1.2, -200),
    Merchant("ATACADAO {n}", "Atacadão", "Supermercado", 0.7, -350),
    Merchant("IFOOD *{shop}", "iFood", "Delivery", 7.0, -55),
    Merchant("RAPPI*{shop}", "Rappi", "Delivery", 1.2, -60),
    Merchant("UBER TRIP", "Uber", "Aplicativos de transporte", 7.0, -22),
    Merchant("UBER *EATS {shop}", "Uber", "Delivery", 1.0, -48),
    Merchant("99APP *99POP", "99", "Aplicativos de transporte", 2.5, -18),
    Merchant("PIX ENVIADO {who}", None, None, 9.0, -90),
    Merchant("PIX RECEBIDO {who}", None, "Reembolsos", 2.0, 110),
    Merchant("CAFÉ DO PONTO", "Café do Ponto", "Restaurantes", 1.2, -14),
    Merchant("PADARIA REAL", "Padaria Real", "Padaria", 4.5, -19),
    Merchant("RESTAURANTE {shop}", None, "Restaurantes", 3.0, -95),
    Merchant("MC DONALDS {n}", "McDonald's", "Restaurantes", 1.0, -42),
    Merchant("POSTO IPIRANGA {n}", "Ipiranga", "Combustível", 3.0, -210),
    Merchant("SHELL BOX", "Shell", "Combustível", 1.5, -190),
    Merchant("ESTAPAR ESTACIONAMENTO", "Estapar", "Estacionamento", 1.0, -22),
    Merchant("RECARGA BILHETE UNICO", None, "Transporte público", 1.5, -50),
    Merchant("DROGASIL {n}", "Drogasil", "Farmácia", 2.5, -60),
    Merchant("DROGARIA SAO PAULO", "Drogaria São Paulo", "Farmácia", 1.5, -52),
    Merchant("NETFLIX.COM", "Netflix", "Streaming", 0.4, -55.90),
    Merchant("SPOTIFY", "Spotify", "Streaming", 0.4, -21.90),
    Merchant("ENEL SP CONTA DE ENERGIA", "Enel", "Energia", 0.4, -180),
    Merchant("SABESP", "Sabesp", "Água", 0.4, -95),
    Merchant("VIVO FIBRA", "Vivo", "Internet", 0.4, -120),
    Merchant("CONDOMINIO EDIFICIO AURORA", None, "Condomínio", 0.4, -650),
    Merchant("ALUGUEL APTO", None, "Aluguel", 0.4, -2300),
    Merchant("SALARIO ACME TECNOLOGIA LTDA", "Acme Tecnologia", "Salário", 0.5, 9500),
    Merchant("RENDIMENTO POUPANCA", None, "Rendimentos", 0.4, 35),
    Merchant("TARIFA PACOTE DE SERVICOS", None, "Tarifas bancárias", 0.4, -35),
    Merchant("IOF COMPRA INTERNACIONAL", None, "IOF", 0.3, -8),
    Merchant("SMART FIT", "Smart Fit", "Academia", 0.4, -119.90),
    Merchant("LOJAS RENNER", "Renner", "Roupas", 0.7, -160),
    Merchant("MAGAZINE LUIZA", "Magalu", "Eletrônicos", 0.4, -450),
    Merchant("AMAZON MARKETPLACE", "Amazon", "Casa e decoração", 1.0, -130),
    Merchant("PETZ", "Petz", "Pets", 0.6, -120),
    Merchant("FEIRA LIVRE", None, "Feira", 1.0, -40),
    Merchant("LIVRARIA CULTURA", "Livraria Cultura", "Livros", 0.3, -75),
    Merchant("CINEMARK", "Cinemark", "Cinema e shows", 0.4, -60),
]
PEOPLE = [
    "JOAO SILVA",
    "MARIA OLIVEIRA",
    "ANA SOUZA",
    "JOSÉ PEREIRA",
    "ANTÔNIO LIMA",
    "FRANCISCA COSTA",
    "CARLOS GOMES",
    "PAULA RIBEIRO",
    "LUCAS MARTINS",
    "JULIANA ALVES",
]
SHOPS = [
    "BURGER KING",
    "SUSHI DA VILA",
    "PIZZARIA BELLA",
    "CASA DO PÃO",
    "LOJA TECH",
    "ARMAZEM DO CHEF",
    "AÇAÍ DO GORDO",
    "COMIDA CASEIRA",
    "BAR DO ZÉ",
    "OUTBACK",
]
MEMOS = [
    "Parcela {i}/10",
    "Compra no cartão final 4321",
    "café da manhã com a equipe",
    "reembolsável pela empresa",
    "presente de aniversário",
    "Pix agendado",
]
TAGS = ["viagem", "reembolsável", "trabalho", "casa", "presente", "férias"]


class Generator:
    """Rows for one book; the same seed gives the same rows."""

    def __init__(self, account_ids: list[int], categories: dict[str, int], seed: int = 42) -> None:
        self.random = random.Random(seed)
        self.account_ids = account_ids
        self.account_weights = [a[2] for a in ACCOUNTS][: len(account_ids)]
        self.categories = categories
        self.weights = [m.weight for m in MERCHANTS]
        self.start = END - dt.timedelta(days=365 * YEARS)
        self.days = (END - self.start).days
        self.external = 0

    def _date(self) -> dt.date:
        # Recent years carry more rows (more card use); the square root tilts the distribution towards the end.
        return self.start + dt.timedelta(days=int(self.days * math.sqrt(self.random.random())))

    def items(self, n: int, account_id: int | None = None) -> Iterator[TransactionCreate]:
        rnd = self.random
        merchants = rnd.choices(MERCHANTS, self.weights, k=n)
        accounts = [account_id] * n if account_id else rnd.choices(self.account_ids, self.account_weights, k=n)
        for merchant, account in zip(merchants, accounts, strict=True):
            description = merchant.description.format(
                n=rnd.randint(10, 999), who=rnd.choice(PEOPLE), shop=rnd.choice(SHOPS)
            )
            amount = merchant.typical * math.exp(rnd.gauss(0, 0.45))
            text = f"{amount:.2f}"
            payee = merchant.payee
            if payee is None and merchant.description.startswith("PIX"):
                payee = description.split(" ", 2)[2].title()
            category = self.categories.get(merchant.category) if merchant.category else None
            if category is not None and rnd.random() < 0.05:
                category = None  # not yet categorised
            splits = None
            if merchant.category == "Supermercado" and rnd.random() < 0.05:
                # Groceries and a bit of home goods on one receipt.
                part = (Decimal(text) * Decimal("0.3")).quantize(CENT)
                rest = str(Decimal(text) - part)
                splits = [
                    SplitIn(category_id=self.categories["Supermercado"], amount=rest),
                    SplitIn(category_id=self.categories["Casa e decoração"], amount=str(part), memo="utilidades"),
                ]
                category = None
            self.external += 1
            yield TransactionCreate(
                account_id=account,
                date=self._date(),
                amount=text,
                payee=payee,
                description=description,
                memo=rnd.choice(MEMOS).format(i=rnd.randint(1, 10)) if rnd.random() < 0.12 else None,
                category_id=category,
                tags=rnd.sample(TAGS, rnd.randint(1, 2)) if rnd.random() < 0.05 else [],
                external_id=f"FIT{self.external:09d}" if rnd.random() < 0.7 else None,
                splits=splits,
            )
