"""The default two-level category set, in pt-BR and English, chosen by the book's locale."""

from __future__ import annotations

# (kind, parent, children); names per locale.
DEFAULT_CATEGORIES: dict[str, list[tuple[str, str, list[str]]]] = {
    "pt-BR": [
        ("income", "Renda", ["Salário", "Freelance", "Rendimentos", "Reembolsos", "Outras receitas"]),
        ("expense", "Moradia", ["Aluguel", "Condomínio", "Energia", "Água", "Gás", "Internet", "IPTU", "Manutenção"]),
        ("expense", "Alimentação", ["Supermercado", "Restaurantes", "Delivery", "Padaria", "Feira"]),
        (
            "expense",
            "Transporte",
            [
                "Combustível",
                "Transporte público",
                "Aplicativos de transporte",
                "Estacionamento",
                "IPVA",
                "Manutenção do veículo",
            ],
        ),
        ("expense", "Saúde", ["Plano de saúde", "Farmácia", "Consultas", "Academia"]),
        ("expense", "Educação", ["Escola", "Cursos", "Livros"]),
        ("expense", "Lazer", ["Streaming", "Viagens", "Cinema e shows", "Hobbies"]),
        ("expense", "Compras", ["Roupas", "Eletrônicos", "Casa e decoração", "Presentes"]),
        ("expense", "Serviços financeiros", ["Tarifas bancárias", "Juros", "IOF", "Anuidade do cartão"]),
        ("expense", "Impostos", ["Imposto de renda", "Outros impostos"]),
        ("expense", "Pessoal", ["Cuidados pessoais", "Pets", "Doações"]),
        ("expense", "Outras despesas", []),
    ],
    "en": [
        ("income", "Income", ["Salary", "Freelance", "Interest and dividends", "Refunds", "Other income"]),
        (
            "expense",
            "Housing",
            ["Rent", "HOA fees", "Electricity", "Water", "Gas", "Internet", "Property tax", "Maintenance"],
        ),
        ("expense", "Food", ["Groceries", "Restaurants", "Delivery", "Bakery", "Market"]),
        (
            "expense",
            "Transport",
            ["Fuel", "Public transport", "Ride sharing", "Parking", "Vehicle tax", "Vehicle maintenance"],
        ),
        ("expense", "Health", ["Health insurance", "Pharmacy", "Appointments", "Gym"]),
        ("expense", "Education", ["School", "Courses", "Books"]),
        ("expense", "Leisure", ["Streaming", "Travel", "Movies and shows", "Hobbies"]),
        ("expense", "Shopping", ["Clothing", "Electronics", "Home and decor", "Gifts"]),
        ("expense", "Financial services", ["Bank fees", "Interest", "Transaction taxes", "Card annual fee"]),
        ("expense", "Taxes", ["Income tax", "Other taxes"]),
        ("expense", "Personal", ["Personal care", "Pets", "Donations"]),
        ("expense", "Other expenses", []),
    ],
}
