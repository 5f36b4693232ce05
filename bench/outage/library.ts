/**
 * The library as the outage benchmark sees it: `main.ts` passes the built package (dist/), the test the
 * sources. Nothing here imports cascade-router's values itself.
 */
import type * as CascadeRouter from 'cascade-router';

export type Library = typeof CascadeRouter;
export type { Cascade, ChannelConfig, Message, Recipient, Router, RouterOptions, SendRequest, SimulatedClock, TimerHandle } from 'cascade-router';
