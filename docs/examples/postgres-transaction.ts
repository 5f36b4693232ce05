/**
 * An order and its "your order is confirmed" message in one PostgreSQL transaction (docs/stores.md, "Starting a
 * cascade in your transaction"). The cascade is written with the order and starts only once the transaction
 * commits; a rolled-back order sends nothing. Run with a PostgreSQL at PG_URL:
 *   PG_URL=postgres://postgres@127.0.0.1:5432/test npx tsx docs/examples/postgres-transaction.ts
 */
import pg from 'pg';
import { createRouter, type SendRequest } from 'cascade-router';
import { postgresStore } from 'cascade-router/postgres';

export async function orderInOneTransaction(url: string, schema = 'shop_example'): Promise<string[]> {
  const lines: string[] = [];
  const pool = new pg.Pool({ connectionString: url });
  // The store shares your pool; migrate() creates (or upgrades) its schema, once, idempotently.
  const store = postgresStore({ pool, schema });
  await store.migrate();
  await pool.query(`CREATE TABLE IF NOT EXISTS ${schema}.orders (id text PRIMARY KEY, total numeric NOT NULL)`);

  let sent!: () => void;
  const firstSend = new Promise<void>((resolve) => (sent = resolve));
  const sendPush = async (request: SendRequest): Promise<string> => {
    lines.push(`push sent: ${request.cascadeId} "${request.content.text}"`);
    sent();
    return `push-${request.idempotencyKey}`;
  };
  const router = createRouter({ store, channels: { push: { kind: 'push', cost: 0, send: sendPush, confirm: { timeout: '2m' } } } });

  /** Places an order: the row and its message commit together, or neither does. */
  async function placeOrder(orderId: string, total: number, fail: boolean): Promise<void> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`INSERT INTO ${schema}.orders (id, total) VALUES ($1, $2)`, [orderId, total]);
      const { status } = await router.send(
        { key: `order-confirmed:${orderId}`, category: 'transactional', content: { text: `Order ${orderId} confirmed` } },
        { id: 'customer-7', addresses: { push: 'device-token' } },
        { transaction: client },
      );
      lines.push(`in the transaction: ${status}`);
      if (fail) throw new Error('payment declined');
      await client.query('COMMIT');
      lines.push(`committed ${orderId}`);
    } catch (error) {
      await client.query('ROLLBACK');
      lines.push(`rolled back ${orderId}: ${(error as Error).message}`);
    } finally {
      client.release();
    }
  }

  await placeOrder('A-1', 42.5, true);
  await placeOrder('A-2', 19.9, false);
  await firstSend; // the listening router starts the cascade as soon as the commit is visible
  const { rows } = await pool.query(`SELECT id FROM ${schema}.orders ORDER BY id`);
  lines.push(`orders: ${rows.map((row: { id: string }) => row.id).join(', ')}`);
  lines.push(`messages: A-1 ${(await router.get('order-confirmed:A-1')) === undefined ? 'none' : 'stored'}, A-2 ${(await router.get('order-confirmed:A-2'))?.status}`);

  await router.close();
  await store.dispose();
  await pool.query(`DROP SCHEMA ${schema} CASCADE`);
  await pool.end();
  return lines;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const line of await orderInOneTransaction(process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test')) console.log(line);
}
