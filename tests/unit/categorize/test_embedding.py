"""Transaction text becomes a stable unit vector; near neighbours vote a category with an honest confidence."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fintrack.categorize.embedding import DIM, embed, normalize, vote


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("PAG*JOSEDASILVA", "josedasilva"),
        ("IFD*IFOOD CLUB", "ifood ifood club"),
        ("IFOOD *IFOOD CLUB 1234 SAO PAULO", "ifood ifood club"),
        ("Pix enviado - MARIA S", "pix_out maria s"),
        ("PIX RECEBIDO ANA PAULA", "pix_in ana paula"),
        ("TED RECEBIDA ACME LTDA", "transf_in acme ltda"),
        ("UBER *TRIP HELP.UBER.COM", "uber trip help uber com"),
        ("SUPERMERCADO PAO DE ACUCAR 1234 SAO PAULO BR", "supermercado pao de acucar"),
        ("COMPRA CARTAO DEB 12/03 DROGASIL 2231", "drogasil"),
        ("Compra no débito - PADARIA REAL 14:32", "padaria real"),
        ("Pão de Açúcar", "pao de acucar"),
        ("Brasília", "brasilia"),
    ],
)
def test_normalize_keeps_the_counterparty_and_drops_the_noise(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_pix_to_different_people_stays_different() -> None:
    assert normalize("PIX ENVIADO MARIA S") != normalize("PIX ENVIADO JOAO")
    assert normalize("Pix enviado - MARIA S") == normalize("PIX ENVIADO MARIA S 12/03 14:32")


def test_pix_sent_and_received_differ() -> None:
    assert normalize("Pix enviado - ANA") != normalize("Pix recebido - ANA")


def test_embedding_has_the_fixed_dimension_and_unit_norm() -> None:
    v = embed("", "UBER *TRIP HELP.UBER.COM", "Compra no cartão final 1234")
    assert len(v) == DIM
    assert math.isclose(math.hypot(*v), 1.0)


def test_nothing_identifying_gives_the_zero_vector() -> None:
    # A zero vector has no direction: it matches nothing, so nothing is suggested for it.
    assert embed(None, "12/03 1234", "") == [0.0] * DIM


def test_two_spellings_of_one_merchant_are_closer_than_two_merchants() -> None:
    a = embed("", "IFD*IFOOD CLUB", "")
    b = embed("", "IFOOD *IFOOD CLUB 1234 SAO PAULO", "")
    other = embed("", "UBER *TRIP HELP.UBER.COM", "")
    assert cosine(a, b) > cosine(a, other)
    assert cosine(a, b) > 0.9


def test_store_numbers_cities_and_dates_do_not_change_the_vector() -> None:
    a = embed("", "COMPRA CARTAO DEB 12/03 DROGASIL 2231", "")
    b = embed("", "DROGASIL 0417 RIO DE JANEIRO BR", "")
    assert cosine(a, b) == pytest.approx(1.0)


def test_a_joined_name_is_near_its_spaced_spelling() -> None:
    joined = embed("", "PAG*JOSEDASILVA", "")
    spaced = embed("", "JOSE DA SILVA", "")
    stranger = embed("", "MARCOS PEREIRA", "")
    assert cosine(joined, spaced) > cosine(joined, stranger)


def test_embedding_is_the_same_in_another_process() -> None:
    # Stored vectors must match new ones: Python's salted hash() would differ per process.
    code = "from fintrack.categorize.embedding import embed; print(embed('', 'PADARIA REAL', '')[:8])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == str(embed("", "PADARIA REAL", "")[:8])


@given(st.text(), st.text(), st.text())
def test_embed_never_fails_and_gives_a_unit_or_zero_vector(payee: str, description: str, memo: str) -> None:
    v = embed(payee, description, memo)
    assert len(v) == DIM
    assert all(math.isfinite(x) for x in v)
    norm = math.hypot(*v)
    assert norm == 0.0 or math.isclose(norm, 1.0)


def test_vote_follows_the_similarity_weighted_majority() -> None:
    category, confidence = vote([("food", 0.95), ("food", 0.9), ("transport", 0.5)], k=3)
    assert category == "food"
    assert 0.8 < confidence <= 1.0


def test_vote_only_counts_the_k_nearest() -> None:
    neighbours = [("rent", 0.99), ("family", 0.4), ("family", 0.4), ("family", 0.4)]
    assert vote(neighbours, k=1) == ("rent", pytest.approx(0.99))


def test_unanimous_but_distant_neighbours_are_not_confident() -> None:
    _, near = vote([("pets", 0.95)] * 3, k=3)
    _, far = vote([("pets", 0.3)] * 3, k=3)
    assert far < 0.5 < near


def test_a_split_vote_is_less_confident_than_agreement() -> None:
    _, split = vote([("a", 0.9), ("b", 0.9)], k=2)
    _, agreed = vote([("a", 0.9), ("a", 0.9)], k=2)
    assert split < agreed


def test_no_neighbours_suggests_nothing() -> None:
    assert vote([], k=5) == (None, 0.0)
    assert vote([("a", 0.0), ("b", -0.2)], k=5) == (None, 0.0)


@given(st.lists(st.tuples(st.sampled_from("abc"), st.floats(-1.0, 1.0)), max_size=20), st.integers(1, 10))
def test_vote_confidence_stays_in_zero_to_one(neighbours: list[tuple[str, float]], k: int) -> None:
    _, confidence = vote(neighbours, k)
    assert 0.0 <= confidence <= 1.0
