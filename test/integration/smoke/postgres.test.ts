import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { loadMigrations, migrate } from '../../../processor/coordination/migrator.ts';
import { uniqueName } from '../../env/names.ts';
import { testServices } from '../../env/services.ts';

describe('PostgreSQL migrations', () => {
  const pool = new pg.Pool({ connectionString: testServices().databaseUrl, max: 10 });
  const schema = uniqueName('smoke').replaceAll('-', '_');

  afterAll(async () => {
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool.end();
  });

  it('applies every migration once, even when several instances migrate at the same time', async () => {
    const results = await Promise.all(Array.from({ length: 5 }, () => migrate(pool, schema)));
    const all = loadMigrations().map((migration) => migration.version);
    expect(results.flat().sort()).toEqual(all);
    expect(await migrate(pool, schema)).toEqual([]);

    const { rows } = await pool.query(`SELECT version FROM ${schema}.schema_migrations ORDER BY version`);
    expect(rows.map((row) => row.version)).toEqual(all);
    await pool.query(`INSERT INTO ${schema}.leases (app_id, slot) VALUES ('smoke', 0)`);
    const { rows: leases } = await pool.query(`SELECT epoch, holder FROM ${schema}.leases`);
    expect(leases).toEqual([{ epoch: '0', holder: null }]);
  });
});
