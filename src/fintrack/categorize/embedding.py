"""Text of a transaction to a fixed-size vector, and the nearest neighbours' vote on its category."""

from __future__ import annotations

import math
import operator
import re
import unicodedata
import zlib
from collections.abc import Hashable, Sequence
from functools import lru_cache
from typing import TypeVar

DIM = 256
NGRAMS = (3, 4, 5)

# Payee and description name the merchant; a memo is often bank boilerplate ("Compra no cartão final 1234").
FIELD_WEIGHTS = (1.0, 1.0, 0.4)
# Whole words are exact evidence; n-grams catch spellings that differ ("JOSEDASILVA", truncated names).
WORD_WEIGHT = 1.0
NGRAM_WEIGHT = 0.35
# Direction tokens (pix_out) are shared by rent, the cleaner and the family: evidence, but weak.
MARKER_WEIGHT = 0.3

K = TypeVar("K", bound=Hashable)

# What a statement says about how money moved, kept as one token because direction matters
# (a Pix received is income, a Pix sent is not), then the name that follows is the counterparty.
_DIRECTIONS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p), tok)
    for p, tok in [
        (r"\bpix (enviado|env|transf[a-z]*|pagamento|pgto|pag)\b", " pix_out "),
        (r"\bpix (recebido|rec|receb[a-z]*)\b", " pix_in "),
        (r"\b(transf[a-z]*|ted|doc) (enviada|enviado|env|realizada|para)\b", " transf_out "),
        (r"\b(transf[a-z]*|ted|doc) (recebida|recebido|rec|de)\b", " transf_in "),
        (r"\b(transf[a-z]*|ted|doc)\b", " transf "),
        (r"\bpix\b", " pix "),
        (r"\b(cred|credito) (de )?salario\b", " salario "),
        (r"\b(pagamento|pagto|pgto|pag) (de )?(boleto|titulo|tit)\b", " boleto "),
        (r"\b(deb|debito) (automatico|aut)\b", " debito_aut "),
    ]
]
_ANY_DIRECTION = re.compile(r"\b(pix|transf[a-z]*|ted|doc|cred|credito|pagamento|pagto|pgto|pag|deb|debito)\b")
# A marketplace tag says what kind of purchase it was; a card processor's tag says nothing.
_MARKETPLACES = re.compile(r"\b(ifd|ifood)\s*\*")
_PROCESSORS = re.compile(r"\b(pag|pg|mp|mercpago|mercadopago|ec|sumup|stone|cielo|picpay|pagseguro|dl|pp|ppro)\s*\*")
# Card boilerplate says how the card was used, not where.
_BOILERPLATE = re.compile(
    r"\b(compra (com |no |c/ )?(cartao |cart )?(de )?(credito|debito|deb|cred)|compra cartao|"
    r"compra (no )?(estabelecimento|estab)|cartao final|final do cartao|cartao|parcela|parc|"
    r"compra|autorizada|estabelecimento|lj)\b"
)
_DIGITS = re.compile(r"\S*\d\S*")
_NON_WORD = re.compile(r"[^a-z_ ]+")
_MARKERS = frozenset({"pix_out", "pix_in", "transf_out", "transf_in", "transf", "pix", "boleto", "debito_aut"})
# Trailing place names are where the shop is, not which shop; chains appear in many cities.
_PLACES = [
    p.split()
    for p in [
        "sao paulo",
        "rio de janeiro",
        "belo horizonte",
        "brasilia",
        "salvador",
        "fortaleza",
        "curitiba",
        "recife",
        "porto alegre",
        "manaus",
        "belem",
        "goiania",
        "campinas",
        "guarulhos",
        "niteroi",
        "florianopolis",
        "vitoria",
        "santos",
        "osasco",
        "sao bernardo",
        "santo andre",
        "sp",
        "rj",
        "mg",
        "pr",
        "rs",
        "sc",
        "df",
        "br",
        "bra",
        "brasil",
    ]
]


_PLACE_ENDS = frozenset(p[-1] for p in _PLACES)


def _strip_places(words: list[str]) -> list[str]:
    changed = True
    while changed and len(words) > 1 and words[-1] in _PLACE_ENDS:
        changed = False
        for place in _PLACES:
            n = len(place)
            # Never strip the last remaining word: a merchant may be called "Brasilia".
            if n < len(words) and words[-n:] == place:
                del words[-n:]
                changed = True
                break
    return words


def normalize(text: str) -> str:
    """Fold accents and case and drop what does not identify the counterparty (numbers, bank boilerplate, place)."""
    s = text.casefold()
    if not s.isascii():
        s = "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))
    s = _MARKETPLACES.sub(" ifood ", s)
    s = _PROCESSORS.sub(" ", s)
    s = _DIGITS.sub(" ", s)
    s = s.replace("*", " ").replace("-", " ").replace(".", " ")
    s = _NON_WORD.sub(" ", s)
    s = " ".join(s.split())
    if _ANY_DIRECTION.search(s):
        for pattern, token in _DIRECTIONS:
            s = pattern.sub(token, s)
    s = _BOILERPLATE.sub(" ", s)
    return " ".join(_strip_places(s.split()))


def _slot(feature: str) -> tuple[int, float]:
    # crc32, not hash(): Python salts str hashes per process, and stored vectors must match new ones.
    h = zlib.crc32(feature.encode())
    # A sign per feature makes collisions cancel out on average instead of always adding similarity.
    return h % DIM, (1.0 if (h >> 16) & 1 else -1.0)


@lru_cache(maxsize=65536)
def _word_features(word: str) -> tuple[tuple[int, float], ...]:
    """The hashed slots of one word: itself and its boundary-marked n-grams (cached: merchants repeat)."""
    if word in _MARKERS:
        slot, sign = _slot("w:" + word)
        return ((slot, sign * MARKER_WEIGHT),)
    out: dict[int, float] = {}
    slot, sign = _slot("w:" + word)
    out[slot] = sign * WORD_WEIGHT
    marked = f"<{word}>"
    grams = [marked[i : i + n] for n in NGRAMS for i in range(len(marked) - n + 1)]
    if grams:
        # Spread a word's n-gram weight over its n-grams so long words do not drown short ones.
        w = NGRAM_WEIGHT * 4 / max(4, len(grams)) ** 0.5
        for g in grams:
            slot, sign = _slot(g)
            out[slot] = out.get(slot, 0.0) + sign * w
    return tuple(out.items())


def embed(payee: str | None, description: str | None, memo: str | None) -> list[float]:
    """A DIM-long unit vector of the transaction's text; all zeros when nothing identifying is left."""
    acc = [0.0] * DIM
    for text, weight in zip((payee, description, memo), FIELD_WEIGHTS, strict=True):
        if not text:
            continue
        for word in set(normalize(text).split()):
            for slot, value in _word_features(word):
                acc[slot] += weight * value
    norm = math.sqrt(sum(map(operator.mul, acc, acc)))
    if norm == 0.0:
        return acc
    inverse = 1.0 / norm
    return [v * inverse for v in acc]


def vote(neighbours: Sequence[tuple[K, float]], k: int = 5) -> tuple[K | None, float]:
    """The category the k most similar neighbours favour, with a confidence in [0, 1]."""
    nearest = sorted((n for n in neighbours if n[1] > 0.0), key=lambda n: n[1], reverse=True)[:k]
    if not nearest:
        return None, 0.0
    scores: dict[K, float] = {}
    best: dict[K, float] = {}
    for category, similarity in nearest:
        s = min(similarity, 1.0)
        # Squaring lets a near-identical neighbour outvote several loosely similar ones.
        scores[category] = scores.get(category, 0.0) + s * s
        best[category] = max(best.get(category, 0.0), s)
    total = sum(scores.values())
    if total == 0.0:  # similarities so small their squares underflow: nobody is near
        return None, 0.0
    winner = max(scores, key=lambda c: (scores[c], best[c]))
    share = scores[winner] / total
    # Agreement alone is not enough: a new merchant's neighbours may all agree yet be far away,
    # so the winner's closest similarity caps the confidence; agreement of close neighbours scales it.
    return winner, share * best[winner]
