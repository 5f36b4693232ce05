/**
 * `map` as a bounded cache of the most recently stored entries: `key` set to `value` (moved to the most recent
 * end), the least recently stored dropped past `max`; with `max` 0 nothing is kept.
 */
export function setRecent<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  if (max === 0) return;
  map.delete(key);
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value!);
}
