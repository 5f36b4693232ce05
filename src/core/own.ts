/**
 * `record[key]` for an own property only. Channel names, categories and the keys of user records are data:
 * a plain-object lookup would answer `constructor` or `toString` with `Object.prototype`'s members.
 */
export function own<V>(record: Readonly<Record<string, V>> | undefined, key: string): V | undefined {
  return record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}
