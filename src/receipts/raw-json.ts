/**
 * The source text of a top-level member's value in a JSON object, e.g. `5466297578174182639` for
 * `message_token`, which `JSON.parse` would round. Call only on text that `JSON.parse` accepted.
 * Returns the last occurrence, as `JSON.parse` does with duplicate keys.
 */
export function rawMember(json: string, key: string): string | undefined {
  let i = skipSpace(json, 0);
  if (json[i] !== '{') return undefined;
  i += 1;
  let found: string | undefined;
  while (true) {
    i = skipSpace(json, i);
    if (json[i] === '}' || i >= json.length) return found;
    const keyEnd = endOfString(json, i);
    const name = JSON.parse(json.slice(i, keyEnd)) as string;
    i = skipSpace(json, keyEnd) + 1; // past ':'
    const start = skipSpace(json, i);
    const end = endOfValue(json, start);
    if (name === key) found = json.slice(start, end);
    i = skipSpace(json, end);
    if (json[i] === ',') i += 1;
  }
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i += 1;
  return i;
}

/** Index just past the string literal that opens at `i`. */
function endOfString(text: string, i: number): number {
  let j = i + 1;
  while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
  return j + 1;
}

/** Index just past the value (string, number, literal, object or array) that starts at `i`. */
function endOfValue(text: string, i: number): number {
  const first = text[i];
  if (first === '"') return endOfString(text, i);
  if (first !== '{' && first !== '[') {
    let j = i;
    while (j < text.length && !',}] \t\n\r'.includes(text[j] as string)) j += 1;
    return j;
  }
  let depth = 0;
  let j = i;
  while (j < text.length) {
    const c = text[j];
    if (c === '"') {
      j = endOfString(text, j);
      continue;
    }
    if (c === '{' || c === '[') depth += 1;
    if (c === '}' || c === ']') depth -= 1;
    j += 1;
    if (depth === 0) return j;
  }
  return j;
}
