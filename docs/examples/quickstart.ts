// The README's example, runnable: `npx tsx docs/examples/quickstart.ts`.
import { createRouter, smsPerSegment } from 'cascade-router';

let sent = 0;
const provider = async () => `msg-${++sent}`; // stands in for your push, email and SMS clients

const router = createRouter({
  channels: {
    push: { kind: 'push', cost: 0, send: provider, confirm: { timeout: '2m' } },
    email: { kind: 'email', cost: 0.0008, send: provider, confirm: { timeout: '30m' } },
    sms: { kind: 'sms', cost: smsPerSegment({ default: 0.05 }), send: provider, confirm: { timeout: '5m' } },
  },
});
router.on('delivered', (e) => console.log(`delivered by ${e.channel}, spent ${e.spend}`));

const { plan } = await router.send(
  { key: 'order-1042-shipped', category: 'transactional', content: { text: 'Your order has shipped' } },
  { id: 'customer-7', addresses: { push: 'device-token', email: 'ann@example.com', sms: '+380501234567' } },
);
console.log(`plan: ${plan.steps.map((step) => step.channel).join(' → ')}`);

// In your webhook handler, for each provider callback (a receipt that beats send()'s return is held, not lost):
await router.handleReceipt({ providerMessageId: 'msg-1', status: 'delivered' });
await router.close();
