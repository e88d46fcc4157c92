"""Statement parsers: bytes in, rows and problems out. Pure: no database, no network, no clock."""
