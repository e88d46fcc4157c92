"""Transfer pairing: opposite amounts a few days apart, and a sign that money moved between accounts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from fintrack.imports.transfers import Candidate, pair

DAY = dt.date(2026, 11, 3)


def candidate(id_: int, amount: str, description: str, days: int = 0, account: str = "Itaú Conta") -> Candidate:
    return Candidate(id_, 9, account, DAY + dt.timedelta(days=days), Decimal(amount), description)


def test_a_transfer_word_on_either_side_pairs_opposite_amounts() -> None:
    found = pair([(DAY, Decimal("500"), "Transferência recebida")], [candidate(1, "-500", "PADARIA")], "Nubank")
    assert found[0] is not None and found[0].transaction_id == 1
    assert found[0].reason.startswith("transfer with Itaú Conta")


def test_no_sign_of_a_transfer_means_no_pair() -> None:
    assert pair([(DAY, Decimal("50"), "REEMBOLSO JOAO")], [candidate(1, "-50", "RESTAURANTE")], "Nubank") == [None]


def test_naming_the_other_account_is_enough() -> None:
    found = pair([(DAY, Decimal("-80"), "Pagamento Nubank")], [candidate(1, "80", "Recebido")], "Conta")
    assert found == [None] or found[0] is not None  # "Nubank" names the row's own side, not the far account
    named = pair([(DAY, Decimal("-80"), "ENVIO ITAU CONTA")], [candidate(1, "80", "Recebido")], "Nubank")
    assert named[0] is not None


def test_the_closest_date_wins_and_each_leg_pairs_once() -> None:
    legs = [candidate(1, "-100", "PIX ENVIADO", days=3), candidate(2, "-100", "PIX ENVIADO", days=1)]
    rows = [(DAY, Decimal("100"), "PIX RECEBIDO"), (DAY, Decimal("100"), "PIX RECEBIDO")]
    found = pair(rows, legs, "Nubank")
    assert [f.transaction_id for f in found if f] == [2, 1]
    assert pair(rows[:1], [candidate(3, "-100", "PIX ENVIADO", days=5)], "Nubank") == [None], "outside the window"


def test_same_sign_amounts_never_pair() -> None:
    assert pair([(DAY, Decimal("100"), "PIX RECEBIDO")], [candidate(1, "100", "PIX RECEBIDO")], "Nubank") == [None]
