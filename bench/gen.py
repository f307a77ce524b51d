#!/usr/bin/env python3
"""Writes a deterministic migration of mixed DDL for the benchmarks.

The file imitates a long-lived schema's history squashed into one migration: tables are
created, grown, indexed, constrained, renamed, backfilled and dropped, with transactions,
timeouts, `DO` blocks, comments and suppression directives in between. Most statement kinds
raise at least one finding, so the reporters have tens of thousands of findings to render.

Usage: bench/gen.py [--statements N] [--seed S] [OUTPUT]
The default output is target/bench/mixed-<N>.sql, relative to the repository root.
"""

import argparse
import os
import random
import sys

TYPES = ["int", "integer", "bigint", "text", "varchar(255)", "boolean", "timestamp", "timestamptz", "jsonb", "uuid"]
DEFAULTS = ["0", "''", "false", "now()", "gen_random_uuid()", "clock_timestamp()", "'{}'::jsonb", "random()"]
WORDS = ["user", "order", "invoice", "account", "event", "payment", "item", "session", "audit", "tag", "note"]


class Gen:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.tables = []
        self.counter = 0
        self.out = []
        self.statements = 0
        self.in_transaction = False

    def name(self, prefix):
        self.counter += 1
        return f"{prefix}_{self.rng.choice(WORDS)}_{self.counter}"

    def table(self):
        # Most statements change tables that earlier migrations made, which is where the
        # locks matter; the rest touch tables this file created.
        if self.rng.random() < 0.8:
            return f"{self.rng.choice(WORDS)}s_{self.rng.randrange(300)}"
        if not self.tables or self.rng.random() < 0.05:
            return self.create_table()
        return self.rng.choice(self.tables)

    def emit(self, sql, comment=None):
        if comment:
            self.out.append(f"-- {comment}")
        self.out.append(sql)
        self.statements += 1

    def create_table(self):
        table = self.name("t")
        columns = ["    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY"]
        for _ in range(self.rng.randint(2, 8)):
            column = f"    {self.name('c')} {self.rng.choice(TYPES)}"
            if self.rng.random() < 0.4:
                column += " NOT NULL"
            if self.rng.random() < 0.3:
                column += f" DEFAULT {self.rng.choice(DEFAULTS[:3])}"
            columns.append(column)
        if self.tables and self.rng.random() < 0.3:
            other = self.rng.choice(self.tables)
            columns.append(f"    {other}_id bigint REFERENCES {other} (id)")
        self.emit(f"CREATE TABLE {table} (\n" + ",\n".join(columns) + "\n);", "A new table.")
        self.tables.append(table)
        if len(self.tables) > 400:
            self.tables.pop(0)
        return table

    def begin(self):
        if not self.in_transaction:
            self.emit("BEGIN;")
            self.in_transaction = True

    def commit(self):
        if self.in_transaction:
            self.emit("COMMIT;")
            self.in_transaction = False

    def statement(self):
        r = self.rng
        # Runs of statements share an explicit transaction, as hand-written migrations do.
        if r.random() < (0.01 if self.in_transaction else 0.04):
            self.commit() if self.in_transaction else self.begin()
        t = self.table()
        col = self.name("c")
        kind = r.randrange(26)
        if kind == 0:
            self.create_table()
        elif kind == 1:
            self.emit(f"ALTER TABLE {t} ADD COLUMN {col} {r.choice(TYPES)} DEFAULT {r.choice(DEFAULTS)};")
        elif kind == 2:
            self.emit(f"ALTER TABLE {t} ADD COLUMN {col} {r.choice(TYPES)} NOT NULL;")
        elif kind == 3:
            self.emit(f"ALTER TABLE {t}\n    ADD COLUMN {col} text,\n    ADD COLUMN {col}_at timestamp DEFAULT now();")
        elif kind == 4:
            self.emit(f"CREATE INDEX {self.name('idx')} ON {t} ({col});")
        elif kind == 5:
            self.emit(f"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS {self.name('idx')} ON {t} (lower({col}));")
        elif kind == 6:
            self.emit(f"ALTER TABLE {t} ALTER COLUMN {col} TYPE {r.choice(TYPES)} USING {col}::{r.choice(TYPES)};")
        elif kind == 7:
            self.emit(f"ALTER TABLE {t} ALTER COLUMN {col} SET NOT NULL;")
        elif kind == 8:
            other = self.table()
            self.emit(f"ALTER TABLE {t} ADD CONSTRAINT {self.name('fk')} FOREIGN KEY ({other}_id) REFERENCES {other} (id);")
        elif kind == 9:
            check = self.name("chk")
            self.begin()
            self.emit("SET LOCAL lock_timeout = '2s';")
            self.emit(f"ALTER TABLE {t} ADD CONSTRAINT {check} CHECK ({col} > 0) NOT VALID;")
            self.emit(f"ALTER TABLE {t} VALIDATE CONSTRAINT {check};")
            self.commit()
        elif kind == 10:
            self.emit(f"ALTER TABLE {t} ADD CONSTRAINT {self.name('uq')} UNIQUE ({col});")
        elif kind == 11:
            self.emit(f"ALTER TABLE {t} RENAME COLUMN {col} TO {col}_old;", "The running release still reads it.")
        elif kind == 12:
            new = self.name("t")
            self.emit(f"ALTER TABLE {t} RENAME TO {new};")
            if t in self.tables:
                self.tables[self.tables.index(t)] = new
        elif kind == 13:
            self.emit(f"ALTER TABLE {t} DROP COLUMN IF EXISTS {col};")
        elif kind == 14:
            self.emit(f"DROP INDEX {self.name('idx')};")
        elif kind == 15:
            self.emit(f"UPDATE {t} SET {col} = {r.choice(DEFAULTS[:3])};", "Backfill.")
        elif kind == 16:
            self.emit(f"UPDATE {t} SET {col} = {col} + 1 WHERE id BETWEEN {r.randint(1, 10**6)} AND {r.randint(10**6, 10**7)};")
        elif kind == 17:
            self.emit(
                "DO $$\nBEGIN\n"
                f"  IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attname = '{col}') THEN\n"
                f"    ALTER TABLE {t} ADD COLUMN {col} int DEFAULT 0;\n"
                f"    ALTER TABLE {t} ALTER COLUMN {col} SET NOT NULL;\n"
                "  END IF;\n"
                f"  CREATE INDEX {self.name('idx')} ON {t} ({col});\n"
                "END\n$$;"
            )
        elif kind == 18:
            self.emit(f"SET lock_timeout = '{r.choice(['1s', '2s', '0', '5s'])}';")
        elif kind == 19:
            self.emit(f"COMMENT ON COLUMN {t}.{col} IS 'The {col} of a {t}, kept for reporting';")
        elif kind == 20:
            enum = self.name("e")
            self.emit(f"CREATE TYPE {enum} AS ENUM ('a', 'b');")
            self.emit(f"ALTER TYPE {enum} ADD VALUE 'c';")
        elif kind == 21:
            self.emit(
                r.choice(
                    [
                        f"VACUUM FULL {t};",
                        f"CLUSTER {t} USING {t}_pkey;",
                        f"REINDEX TABLE {t};",
                        f"TRUNCATE {t};",
                        f"LOCK TABLE {t} IN ACCESS EXCLUSIVE MODE;",
                        f"REFRESH MATERIALIZED VIEW mv_{t};",
                    ]
                )
            )
        elif kind == 22:
            self.emit(f"-- ddlint-ignore drop-table -- retired in the previous release\nDROP TABLE IF EXISTS {t};")
            if t in self.tables:
                self.tables.remove(t)
        elif kind == 23:
            self.emit(
                f"INSERT INTO {t} ({col}, created_at) VALUES ({r.randint(0, 99)}, now()), ({r.randint(0, 99)}, now());"
            )
        elif kind == 24:
            self.emit(
                f"CREATE OR REPLACE VIEW v_{t} AS\n  SELECT id, {col}, count(*) OVER (PARTITION BY {col}) AS n\n"
                f"  FROM {t}\n  WHERE {col} IS NOT NULL;"
            )
        else:
            self.emit(f"ALTER TABLE {t} ALTER COLUMN {col} SET DEFAULT {r.choice(DEFAULTS)}, ALTER COLUMN {col} DROP NOT NULL;")
        if r.random() < 0.15:
            self.out.append("")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--statements", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=20_000)
    parser.add_argument("output", nargs="?")
    args = parser.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    output = args.output or os.path.join(root, "target", "bench", f"mixed-{args.statements}.sql")

    gen = Gen(args.seed)
    gen.out.append("-- Generated by bench/gen.py: a long schema history squashed into one migration.")
    while gen.statements < args.statements:
        gen.statement()
    gen.commit()
    os.makedirs(os.path.dirname(output), exist_ok=True)
    with open(output, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(gen.out) + "\n")
    print(output)


if __name__ == "__main__":
    sys.exit(main())
