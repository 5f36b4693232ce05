import { describe, expect, it } from 'vitest';
import { orderInOneTransaction } from '../docs/examples/postgres-transaction.js';
import { PG_URL, requirePostgres, uniqueSchema } from './postgres/helpers.js';

const skip = await requirePostgres('test/examples.postgres.test.ts');

describe.skipIf(skip)('docs/examples/postgres-transaction.ts', () => {
  it('sends the message of the committed order only, after its commit', async () => {
    expect(await orderInOneTransaction(PG_URL, uniqueSchema('example'))).toEqual([
      'in the transaction: scheduled',
      'rolled back A-1: payment declined',
      'in the transaction: scheduled',
      'committed A-2',
      'push sent: order-confirmed:A-2 "Order A-2 confirmed"',
      'orders: A-2',
      'messages: A-1 none, A-2 active',
    ]);
  });
});
