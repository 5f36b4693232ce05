export { redisStore } from './store.js';
export type { RedisStoreOptions } from './store.js';
export type { RedisClient, ConnectionOptions } from './connection.js';
export { StoreUnavailableError } from './errors.js';
