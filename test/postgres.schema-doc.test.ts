/**
 * docs/postgres-schema.sql is the SQL `migrate()` runs, for teams that apply migrations themselves: it must
 * be what postgresMigrations() gives now. `UPDATE_DOCS=1` rewrites it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { postgresMigrations } from 'cascade-router/postgres';
import { bootstrapSql } from '../src/postgres/schema.js';

const file = fileURLToPath(new URL('../docs/postgres-schema.sql', import.meta.url));

function documented(): string {
  const header = [
    '-- cascade-router/postgres: the schema as migrate() creates it, for the default schema `cascade_router`.',
    '-- Generated from postgresMigrations() (test/postgres.schema-doc.test.ts checks it is current). For another schema,',
    '-- call postgresMigrations({ schema }) or replace `cascade_router.` throughout. Apply each migration once, in order,',
    '-- and record its version in cascade_router.migrations: the store refuses to run on an older version.',
  ];
  let out = `${header.join('\n')}\n\n${bootstrapSql('cascade_router')}\n`;
  for (const m of postgresMigrations()) {
    out += `\n-- Migration ${m.version}: ${m.description}\n${m.sql}\nINSERT INTO cascade_router.migrations (version, description) VALUES (${m.version}, '${m.description}');\n`;
  }
  return out;
}

describe('docs/postgres-schema.sql', () => {
  it('is the SQL postgresMigrations() gives for the default schema', () => {
    if (process.env.UPDATE_DOCS === '1') writeFileSync(file, documented());
    expect(readFileSync(file, 'utf8')).toBe(documented());
  });

  it('names every migration of a schema in that schema only', () => {
    const migrations = postgresMigrations({ schema: 'shop' });
    for (const m of migrations) {
      expect(m.sql).not.toMatch(/__S__|\{\{WAKE\}\}|cascade_router\./);
      expect(m.sql).toMatch(/ shop\.[a-z_]+/);
    }
    expect(migrations[0]!.sql).toMatch(/CREATE TABLE shop\.cascades/);
    expect(migrations.map((m) => m.version)).toEqual(migrations.map((_, i) => i + 1));
  });
});
