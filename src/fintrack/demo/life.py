"""A seeded simulation of the household's months: what happened, before anything is written to a book."""

from __future__ import annotations

import bisect
import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal

from fintrack.demo import merchants as m
from fintrack.demo.draw import (
    CENT,
    add_months,
    any_day,
    business,
    month_days,
    nth_business,
    on,
    pct,
    price,
    usd_brl_walk,
)
from fintrack.demo.merchants import Cat, Merchant

# Prices drift up with inflation (IPCA, ~4.5% a year) so that two years of history do not look frozen.
MONTHLY_INFLATION = Decimal("1.0037")
# What the household keeps in checking; the surplus of each month goes to savings, a shortfall comes back.
CUSHION = Decimal(3500)
FLOOR = Decimal(800)  # below this, mid-month, the household draws on savings that same day
SAVINGS_YIELD = Decimal("0.0055")
# Banks convert card purchases abroad at the commercial rate plus a spread.
CARD_SPREAD = Decimal("1.04")
# The 13th salary comes in two parts: by 30 November (no deductions yet) and by 20 December.
THIRTEENTH = {11: ("13O SALARIO 1A PARCELA", Decimal("0.62"), 25), 12: ("13O SALARIO 2A PARCELA", Decimal("0.45"), 17)}


@dataclass(frozen=True)
class Entry:
    account: str  # a key of merchants.ACCOUNTS
    day: dt.date
    amount: Decimal
    description: str
    payee: str | None
    category: Cat | None
    tags: tuple[str, ...] = ()
    splits: tuple[tuple[Cat, Decimal], ...] = ()


@dataclass(frozen=True)
class Move:
    source: str
    target: str
    day: dt.date
    amount: Decimal  # leaving the source, in its currency
    to_amount: Decimal  # arriving, in the target's currency
    description: str


@dataclass
class Plan:
    start: dt.date
    end: dt.date
    months: int
    usd_brl: dict[dt.date, Decimal]  # BRL per dollar, on business days
    entries: list[Entry] = field(default_factory=list)
    moves: list[Move] = field(default_factory=list)


def simulate(rng: random.Random, end: dt.date, months: int) -> Plan:
    """`months` calendar months ending with `end`'s month; nothing after `end`. Same rng state, same plan."""
    first = add_months(end.replace(day=1), 1 - months)
    plan = Plan(first, end, months, usd_brl_walk(rng, first, end))
    life = _Life(rng, plan)
    for i in range(months):
        life.month(i, add_months(first, i))
    plan.entries.sort(key=lambda e: e.day)
    plan.moves.sort(key=lambda mv: mv.day)
    return plan


class _Life:
    """One household, month after month: its prices, its balances, and what it spent that next month pays."""

    def __init__(self, rng: random.Random, plan: Plan) -> None:
        self.rng, self.plan = rng, plan
        self.city = rng.choice(m.CITIES)
        self.salaries = [Decimal(rng.randint(low * 100, high * 100)) / 100 for _, _, (low, high), _ in m.EMPLOYERS]
        self.rent = Decimal(rng.randint(48, 66) * 50)
        self.rent_month = rng.randint(1, 12)  # the lease's anniversary, when the rent is adjusted (IGP-M)
        self.condo = Decimal(rng.randint(620, 890))
        self.health = Decimal(rng.randint(880, 1150))
        self.energy = Decimal(rng.randint(160, 260))
        self.property_tax = Decimal(rng.randint(1400, 2600))
        self.vehicle_tax = Decimal(rng.randint(1500, 2400))
        self.yield_day = rng.randint(1, 28)  # a poupança earns on its monthly anniversary
        self.trips: dict[int, tuple[int, bool]] = {}
        self.rate_days = sorted(plan.usd_brl)
        self.balance = {key: Decimal(spec[3]) for key, spec in m.ACCOUNTS.items()}
        self.spent = {"card": Decimal(0), "usd": Decimal(0), "work": Decimal(0)}
        self.flows: list[tuple[dt.date, Decimal]] = []  # checking's movements this month

    def add(
        self,
        account: str,
        day: dt.date,
        amount: Decimal,
        description: str,
        payee: str | None,
        category: Cat | None,
        tags: tuple[str, ...] = (),
        splits: tuple[tuple[Cat, Decimal], ...] = (),
    ) -> None:
        if day > self.plan.end:
            return  # history stops today
        self.plan.entries.append(Entry(account, day, amount, description, payee, category, tags, splits))
        self.balance[account] += amount
        if account == "checking":
            self.flows.append((day, amount))
        if account in self.spent:
            self.spent[account] -= amount
        if m.WORK_TAG in tags:
            self.spent["work"] -= amount

    def move(self, source: str, target: str, day: dt.date, amount: Decimal, to_amount: Decimal, text: str) -> None:
        if day > self.plan.end or amount <= 0:
            return
        self.plan.moves.append(Move(source, target, day, amount, to_amount, text))
        self.balance[source] -= amount
        self.balance[target] += to_amount
        if "checking" in (source, target):
            self.flows.append((day, -amount if source == "checking" else to_amount))

    def usd_brl(self, day: dt.date) -> Decimal:
        days = self.rate_days
        return self.plan.usd_brl[days[max(0, bisect.bisect_right(days, day) - 1)]]

    def month(self, i: int, first: dt.date) -> None:
        if i:
            self.adjust_prices(first.month)
        factor = MONTHLY_INFLATION**i
        spent, self.spent = self.spent, {key: Decimal(0) for key in self.spent}
        self.flows = []
        self.pay_cards(first, spent)
        self.income(first, spent["work"])
        self.housing(first, factor, i)
        self.shopping(first, factor)
        self.trip(first, factor)
        self.sweep(first)

    def adjust_prices(self, month: int) -> None:
        for n, (*_, raise_month) in enumerate(m.EMPLOYERS):
            if month == raise_month:  # the yearly collective agreement (dissídio)
                self.salaries[n] = (self.salaries[n] * pct(self.rng, 0.04, 0.08)).quantize(CENT)
        if month == self.rent_month:
            self.rent = (self.rent * pct(self.rng, 0.025, 0.06)).quantize(CENT)
        if month == 1:
            self.condo = (self.condo * pct(self.rng, 0.05, 0.09)).quantize(CENT)
            self.property_tax = (self.property_tax * pct(self.rng, 0.03, 0.06)).quantize(CENT)
            self.vehicle_tax = (self.vehicle_tax * pct(self.rng, -0.05, 0.02)).quantize(CENT)
        if month == 5:  # health plans are adjusted in May (ANS)
            self.health = (self.health * pct(self.rng, 0.08, 0.14)).quantize(CENT)

    def pay_cards(self, first: dt.date, spent: dict[str, Decimal]) -> None:
        """Last month's purchases are paid on the 10th, from checking."""
        day = business(on(first, 10))
        self.move("checking", "card", day, spent["card"], spent["card"], "PAGAMENTO FATURA NUBANK")
        if spent["usd"] > 0:
            brl = (spent["usd"] * self.usd_brl(day) * CARD_SPREAD).quantize(CENT)
            self.move("checking", "usd", day, brl, spent["usd"], "PAGAMENTO FATURA CARTAO INTERNACIONAL")
            iof = Decimal(m.IOF_RATE.get(day.year, "0.035" if day.year > 2025 else "0.0638"))
            self.add("checking", day, -(brl * iof).quantize(CENT), "IOF COMPRAS NO EXTERIOR", None, m.IOF)

    def income(self, first: dt.date, work_spent: Decimal) -> None:
        rng, month = self.rng, first.month
        for (text, payee, *_), net in zip(m.EMPLOYERS, self.salaries, strict=True):
            self.add("checking", nth_business(first, 5), net, text, payee, m.SALARY)
            if month in THIRTEENTH:
                label, share, day = THIRTEENTH[month]
                amount = (net * share).quantize(CENT)
                self.add("checking", business(on(first, day)), amount, text.replace("SALARIO", label), payee, m.SALARY)
        if work_spent:
            text, payee, *_ = m.EMPLOYERS[0]
            text = text.replace("SALARIO", "REEMBOLSO DESPESAS")
            self.add("checking", business(on(first, 15)), work_spent, text, payee, m.REFUND)
        if rng.random() < 0.25:
            amount, text = price(rng, ("900", "3800")), "PIX RECEBIDO ESTUDIO CRIATIVO LTDA"
            self.add("checking", any_day(rng, first), amount, text, "Estúdio Criativo Ltda", m.FREELANCE)
        for _ in range(rng.randint(0, 2)):  # friends paying back their share
            upper, name = rng.choice(m.FRIENDS)
            self.add(
                "checking", any_day(rng, first), price(rng, ("15", "140")), f"PIX RECEBIDO {upper}", name, m.REFUND
            )
        savings_yield = (self.balance["savings"] * SAVINGS_YIELD).quantize(CENT)
        self.add("savings", on(first, self.yield_day), savings_yield, "RENDIMENTO POUPANCA", "Itaú Unibanco", m.YIELD)

    def pay(self, day: dt.date, amount: Decimal, text: str, payee: str | None, category: Cat) -> None:
        self.add("checking", day, -amount, text, payee, category)

    def housing(self, first: dt.date, factor: Decimal, i: int) -> None:
        rng, month, city, pay = self.rng, first.month, self.city, self.pay
        tenth = business(on(first, 10))
        pay(nth_business(first, 1), Decimal("59.90"), "TARIFA CESTA SERVICOS", "Itaú Unibanco", m.BANK_FEES)
        pay(business(on(first, 5)), self.health, "SULAMERICA SAUDE", "SulAmérica Saúde", m.HEALTH_PLAN)
        pay(tenth, self.rent, "ALUGUEL IMOBILIARIA LOPES", "Imobiliária Lopes", m.RENT)
        pay(tenth, self.condo, "CONDOMINIO ED JACARANDA", "Condomínio Edifício Jacarandá", m.CONDO)
        pay(business(on(first, 12)), Decimal("129.99"), "DEB AUTOMATICO VIVO FIBRA", "Vivo Fibra", m.INTERNET)
        # Air conditioning makes the summer bills higher.
        season = Decimal("1.3") if month in (12, 1, 2, 3) else Decimal(1)
        energy = (self.energy * season * pct(rng, -0.15, 0.15) * factor).quantize(CENT)
        pay(business(on(first, 15)), energy, *city.energy, m.ENERGY)
        pay(business(on(first, 20)), price(rng, ("75", "150"), factor), *city.water, m.WATER)
        pay(business(on(first, 18)), price(rng, ("38", "85"), factor), *city.gas, m.GAS)
        if 2 <= month <= 11:  # IPTU in ten parts, and the English course's school year
            text = f"{city.property_tax} {first.year} PARC {month - 1:02d}/10"
            pay(tenth, (self.property_tax / 10).quantize(CENT), text, "Prefeitura", m.PROPERTY_TAX)
            pay(tenth, Decimal("489.00"), "PAGTO BOLETO CULTURA INGLESA", "Cultura Inglesa", m.COURSES)
        if month <= 3:
            text = f"IPVA {first.year} PARC {month}/3"
            pay(business(on(first, 15)), (self.vehicle_tax / 3).quantize(CENT), text, "Sefaz", m.VEHICLE_TAX)
        days = [first + dt.timedelta(days=n) for n in range(month_days(first))]
        cleaner, cleaner_name = m.CLEANER
        for friday in [d for d in days if d.weekday() == 4][::2]:  # the cleaner comes every other Friday
            pay(friday, Decimal(200 + 10 * (i // 12)), f"PIX ENVIADO {cleaner}", cleaner_name, m.UPKEEP)
        grocer, grocer_name = m.GREENGROCER
        for saturday in (d for d in days if d.weekday() == 5):  # the street market, most Saturdays
            if rng.random() < 0.6:
                pay(saturday, price(rng, ("35", "110"), factor), f"PIX ENVIADO {grocer}", grocer_name, m.MARKET)
        for _ in range(rng.randint(0, 3)):  # their share of a dinner, sent to a friend
            upper, name = rng.choice(m.FRIENDS)
            pay(any_day(rng, first), price(rng, ("20", "160")), f"PIX ENVIADO {upper}", name, m.RESTAURANTS)

    def buy(
        self,
        account: str,
        first: dt.date,
        merchant: Merchant,
        factor: Decimal,
        days: tuple[int, int],
        tags: tuple[str, ...] = (),
    ) -> None:
        rng = self.rng
        for _ in range(rng.randint(*merchant.per_month)):
            amount = price(rng, merchant.amount, factor)
            splits: tuple[tuple[Cat, Decimal], ...] = ()
            if merchant.splittable and rng.random() < 0.18:
                home = (amount * rng.randint(15, 40) / 100).quantize(CENT)  # part of the basket is for the house
                splits = ((merchant.category, -(amount - home)), (m.HOME, -home))
            extra = (m.WORK_TAG,) if merchant.work and rng.random() < 0.12 else ()
            day, text = any_day(rng, first, *days), rng.choice(merchant.descriptions)
            self.add(account, day, -amount, text, merchant.payee, merchant.category, tags + extra, splits)

    def shopping(self, first: dt.date, factor: Decimal) -> None:
        for merchant in m.CARD_MERCHANTS:
            if not merchant.months or first.month in merchant.months:
                self.buy("card", first, merchant, factor, (1, 31))
        for text, payee, category, day, amount in m.CARD_SUBSCRIPTIONS:
            self.add("card", on(first, day), -Decimal(amount), text, payee, category)
        for merchant in m.USD_MERCHANTS:
            self.buy("usd", first, merchant, Decimal(1), (1, 31))

    def trip(self, first: dt.date, factor: Decimal) -> None:
        """One trip a year, in a holiday month; now and then abroad, paid partly in dollars."""
        if first.year not in self.trips:
            self.trips[first.year] = (self.rng.choice((1, 2, 4, 7, 9, 10)), self.rng.random() < 0.35)
        month, abroad = self.trips[first.year]
        if first.month != month:
            return
        start = self.rng.randint(3, 20)
        stay = (start, start + 7)
        tag = (m.TRIP_TAG,)
        if abroad:
            for merchant in m.ABROAD_TRIP_BRL:
                self.buy("card", first, merchant, factor, (1, start), tag)
            for merchant in m.ABROAD_TRIP_USD:
                self.buy("usd", first, merchant, Decimal(1), stay, tag)
        else:
            for merchant in m.DOMESTIC_TRIP:
                self.buy("card", first, merchant, factor, stay, tag)

    def sweep(self, first: dt.date) -> None:
        """Draw on savings the day checking would sink below the floor; save what is left at the month's end."""
        last = on(first, 31)
        last -= dt.timedelta(days=max(0, last.weekday() - 4))  # the last weekday
        balance = self.balance["checking"] - sum(amount for _, amount in self.flows)
        low, sinks, on_last = balance, None, balance
        for day, amount in sorted(self.flows):  # within a day, outflows first: the cautious order
            balance += amount
            low = min(low, balance)
            sinks = sinks or (day if balance < FLOOR else None)
            on_last = balance if day <= last else on_last
        withdrawn = Decimal(0)
        if sinks:
            withdrawn = min(((CUSHION - low) // 100 + 1) * 100, max(self.balance["savings"], Decimal(0)))
            self.move("savings", "checking", sinks, withdrawn, withdrawn, "RESGATE POUPANCA")
        # Money arriving after the last weekday (a Pix on a Saturday) waits for next month.
        surplus = (min(balance, on_last) + withdrawn - CUSHION) // 100 * 100
        if surplus > 500:
            self.move("checking", "savings", last, surplus, surplus, "APLICACAO POUPANCA")
