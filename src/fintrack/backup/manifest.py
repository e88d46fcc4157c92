"""The manifest inside every archive: versions, and each table's row count and checksum, computed in SQL."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg
from psycopg import sql

FORMAT = 1
# Order-independent: the md5 of every row's text, summed as two 64-bit halves (exact numeric sums), then hashed.
# No sort and no giant string (string_agg stops at 1 GB), so a million rows cost one sequential scan.
CHECKSUM_ALGORITHM = "sum128-md5-row-text-v1"
# Rows are hashed as text: fix every setting that changes how a value prints, so a scratch restore on another
# server (or a shell's PGOPTIONS) computes the same text.
STABLE_OUTPUT = (
    "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; "
    "SET extra_float_digits = 3; SET bytea_output = 'hex'"
)
TABLES = """
SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                  AND d.deptype = 'e')
ORDER BY 1, 2
"""
CHECKSUM = """
SELECT count(*), md5(coalesce(sum(('x' || substr(h, 1, 16))::bit(64)::bigint::numeric), 0)::text || ':' ||
                     coalesce(sum(('x' || substr(h, 17, 16))::bit(64)::bigint::numeric), 0)::text)
FROM (SELECT md5(t::text) AS h FROM ONLY {} AS t) AS rows
"""


@dataclass
class Manifest:
    name: str
    created_at: str
    app_version: str
    migration: str | None
    postgres_version: str
    database: str
    extensions: dict[str, str]
    tables: dict[str, dict[str, Any]]  # "schema.table": {"rows": n, "checksum": hex}
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # archive member: {"bytes", "sha256"}
    globals_with_passwords: bool = True
    label: str = ""
    checksum_algorithm: str = CHECKSUM_ALGORITHM
    format: int = FORMAT

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> Manifest:
        data = json.loads(text)
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})

    @property
    def rows(self) -> int:
        return sum(int(t["rows"]) for t in self.tables.values())


def stable_output(connection: psycopg.Connection[Any]) -> None:
    connection.execute(STABLE_OUTPUT)


def table_checksums(connection: psycopg.Connection[Any]) -> dict[str, dict[str, Any]]:
    """Row count and checksum of every table, in the connection's current transaction (and snapshot)."""
    stable_output(connection)
    tables = connection.execute(TABLES).fetchall()
    result = {}
    for schema, table in tables:
        query = sql.SQL(CHECKSUM).format(sql.Identifier(schema, table))
        row = connection.execute(query).fetchone()
        assert row is not None
        result[f"{schema}.{table}"] = {"rows": int(row[0]), "checksum": row[1]}
    return result


def database_facts(connection: psycopg.Connection[Any]) -> dict[str, Any]:
    """Server version, extensions and the migration the database is at."""
    version = connection.execute("SHOW server_version").fetchone()
    extensions = dict(connection.execute("SELECT extname, extversion FROM pg_extension ORDER BY 1").fetchall())
    migration = None
    if connection.execute("SELECT to_regclass('alembic_version') IS NOT NULL").fetchone() == (True,):
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        migration = row[0] if row else None
    return {"postgres_version": version[0] if version else "", "extensions": extensions, "migration": migration}


def differences(expected: dict[str, dict[str, Any]], actual: dict[str, dict[str, Any]]) -> list[str]:
    """What differs between the manifest's tables and a restored database's, one line per table."""
    problems = []
    for table in sorted(expected.keys() | actual.keys()):
        want, got = expected.get(table), actual.get(table)
        if got is None:
            problems.append(f"{table}: in the manifest, missing from the restored database")
        elif want is None:
            problems.append(f"{table}: in the restored database, not in the manifest")
        elif want["rows"] != got["rows"]:
            problems.append(f"{table}: {got['rows']} rows restored, the manifest says {want['rows']}")
        elif want["checksum"] != got["checksum"]:
            problems.append(f"{table}: same row count ({got['rows']}) but the checksum differs")
    return problems
