"""CSV column mappings: the CsvProfile value, header-name matching, and the built-in bank profiles."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from fintrack.imports.formats.csv_values import DateOrder, DecimalMark, normalize

# Header names per role, normalized (see csv_values.normalize), best match first: when two columns claim
# a role, the one whose name comes first here wins.
ROLE_NAMES: dict[str, tuple[str, ...]] = {
    "date": (
        "data lancamento", "data de lancamento", "data do lancamento", "data", "date", "data movimento",
        "data mov", "data da transacao", "data transacao", "data compra", "data da compra", "transaction date",
        "posted date", "posting date", "booking date", "dt lancamento", "data operacao",
    ),
    "description": (
        "descricao", "historico", "lancamento", "title", "titulo", "description", "estabelecimento",
        "descricao do lancamento", "historico lancamento", "transaction", "details",
    ),
    "payee": ("payee", "favorecido", "beneficiario", "merchant", "contraparte", "nome"),
    "amount": (
        "valor", "amount", "valor em", "value", "quantia", "montante", "valor lancamento",
        "valor da transacao", "valor brl",
    ),
    "debit": ("debito", "valor debito", "saida", "saidas", "outflow", "debit", "debitos", "withdrawal"),
    "credit": ("credito", "valor credito", "entrada", "entradas", "inflow", "credit", "creditos", "deposit"),
    "category": ("categoria", "category"),
    "external_id": (
        "identificador", "id", "documento", "n documento", "no documento", "numero documento",
        "numero do documento", "nr documento", "transaction id", "doc",
    ),
    "memo": ("memo", "notes", "note", "observacao", "observacoes", "notas", "detalhes", "complemento", "obs"),
    "kind": ("tipo lancamento", "tipo de lancamento", "tipo", "type", "tipo transacao"),
}  # fmt: skip

_NAME_RANK = {(role, name): rank for role, names in ROLE_NAMES.items() for rank, name in enumerate(names)}
_ROLE_OF = {name: role for role, names in reversed(ROLE_NAMES.items()) for name in names}


@dataclass(frozen=True, slots=True)
class CsvProfile:
    """How to read one kind of CSV: which column holds what, and the choices the file cannot state.

    Columns are 0-based indexes. `header` is the normalized header row that identifies the layout (None for
    a file without one). Unset choices (delimiter, encoding, date order, decimal mark) are detected per file.
    """

    name: str
    header: tuple[str, ...] | None
    date: int
    description: int | None = None
    amount: int | None = None
    debit: int | None = None
    credit: int | None = None
    payee: int | None = None
    memo: int | None = None
    category: int | None = None
    external_id: int | None = None
    kind: int | None = None
    delimiter: str | None = None
    encoding: str | None = None
    date_order: DateOrder | None = None
    decimal: DecimalMark | None = None
    flip_sign: bool = False  # card exports that write purchases as positive numbers
    columns: int = field(default=0)  # how many columns a row has; 0 = len(header)

    def __post_init__(self) -> None:
        if self.amount is None and self.debit is None and self.credit is None:
            raise ValueError(f"profile {self.name!r} names no amount, debit or credit column")

    @property
    def width(self) -> int:
        if self.columns:
            return self.columns
        return len(self.header) if self.header else 1 + max(i for i in self.indexes() if i is not None)

    def indexes(self) -> tuple[int | None, ...]:
        return (
            self.date, self.description, self.amount, self.debit, self.credit, self.payee, self.memo,
            self.category, self.external_id, self.kind,
        )  # fmt: skip


def header_key(cells: Sequence[str]) -> tuple[str, ...]:
    """The normalized header, without the empty cells a trailing delimiter leaves."""
    key = [normalize(c) for c in cells]
    while key and not key[-1]:
        key.pop()
    return tuple(key)


def map_header(cells: Sequence[str], name: str = "generic") -> CsvProfile | None:
    """A profile from header names alone, or None when no date and amount columns can be named."""
    key = header_key(cells)
    best: dict[str, tuple[int, int]] = {}  # role -> (rank, column)
    spare_descriptions: list[tuple[int, int]] = []
    for column, cell in enumerate(key):
        role = _ROLE_OF.get(cell)
        if role is None:
            continue
        candidate = (_NAME_RANK[role, cell], column)
        if role not in best:
            best[role] = candidate
            continue
        keep, other = sorted((best[role], candidate))
        best[role] = keep
        if role == "description":
            spare_descriptions.append(other)
    # A second description column (C6's Título and Descrição) is the detail: keep it as the memo.
    if "memo" not in best and spare_descriptions:
        best["memo"] = min(spare_descriptions)
    roles = {role: column for role, (_, column) in best.items()}
    if "date" not in roles or not ({"amount", "debit", "credit"} & roles.keys()):
        return None
    if "description" not in roles and "payee" in roles:
        roles["description"] = roles["payee"]
    g = roles.get
    return CsvProfile(
        name=name, header=key, date=roles["date"], description=g("description"), amount=g("amount"),
        debit=g("debit"), credit=g("credit"), payee=g("payee"), memo=g("memo"), category=g("category"),
        external_id=g("external_id"), kind=g("kind"),
    )  # fmt: skip


def _builtin(name: str, header: str, delimiter: str, **choices: object) -> CsvProfile:
    profile = map_header(header.split(delimiter), name)
    if profile is None:  # pragma: no cover - guards the table below
        raise ValueError(f"built-in profile {name!r} does not map")
    return replace(profile, **choices)  # type: ignore[arg-type]


BUILTIN_PROFILES: tuple[CsvProfile, ...] = (
    _builtin("nubank-conta", "Data,Valor,Identificador,Descrição", ",", date_order="dmy"),
    # Nubank's card export lists purchases as positive numbers and payments as negative ones.
    _builtin("nubank-cartao", "date,title,amount", ",", flip_sign=True),
    _builtin("nubank-cartao", "date,category,title,amount", ",", flip_sign=True),
    _builtin("itau", "data;lançamento;valor", ";", date_order="dmy", decimal=","),
    _builtin("itau", "data;lançamento;ag./origem;valor (R$);saldos (R$)", ";", date_order="dmy", decimal=","),
    _builtin(
        "banco-do-brasil",
        "Data,Lançamento,Detalhes,Nº documento,Valor,Tipo Lançamento",
        ",",
        date_order="dmy",
        decimal=",",
    ),
    _builtin("inter", "Data Lançamento;Descrição;Valor;Saldo", ";", date_order="dmy", decimal=","),
    _builtin(
        "c6",
        "Data Lançamento,Data Contábil,Título,Descrição,Entrada(R$),Saída(R$),Saldo do Dia(R$)",
        ",",
        date_order="dmy",
        description=2,  # Título is the short text the app shows; Descrição the bank's detail
        memo=3,
    ),
    _builtin("actual", "date,amount,payee,notes", ",", date_order="ymd"),
    _builtin("ynab", "Date,Payee,Category,Memo,Outflow,Inflow", ","),
)


def match_profile(cells: Sequence[str], profiles: Sequence[CsvProfile] = ()) -> CsvProfile | None:
    """The first of the given, then the built-in, profiles whose header is this row."""
    key = header_key(cells)
    if not key:
        return None
    for profile in (*profiles, *BUILTIN_PROFILES):
        if profile.header == key:
            return profile
    return None
