"""Books (one household's ledger) and who may use them."""
