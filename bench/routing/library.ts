/**
 * The library as the simulator sees it. The simulator never imports cascade-router's values itself:
 * `main.ts` passes the built package (dist/, what users get), the test passes the sources.
 */
import type * as CascadeRouter from 'cascade-router';

export type Library = typeof CascadeRouter;
export type {
  Amount,
  Cascade,
  ChannelConfig,
  CostContext,
  Message,
  Micros,
  Recipient,
  Router,
  RouterEvents,
  RouterOptions,
  SendFunction,
  SendRequest,
  SimulatedClock,
} from 'cascade-router';
