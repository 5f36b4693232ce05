/** A webhook request exactly as a provider sends it: post `body` with `headers` to `url`. */
export interface SignedWebhook {
  readonly method: 'POST';
  /** The URL the provider calls; for Twilio and Plivo it is part of what is signed. */
  readonly url: string;
  /** The headers the provider sends, the signature's among them, named as the provider spells them. */
  readonly headers: Readonly<Record<string, string>>;
  /** The raw body, byte for byte what was signed. */
  readonly body: string;
}

/** The time a signer writes into a signed timestamp: `now` (ms since epoch) or the system clock. */
export const unixSecondsAt = (now: number | undefined): number => Math.floor((now ?? Date.now()) / 1000);

/** A form body as providers encode it: `application/x-www-form-urlencoded`, in the given order. */
export function formBody(params: Readonly<Record<string, string | readonly string[]>>): string {
  const form = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) for (const item of typeof value === 'string' ? [value] : value) form.append(name, item);
  return form.toString();
}

/** The body as text: objects and arrays are JSON, strings are sent as given. */
export const jsonText = (body: unknown): string => (typeof body === 'string' ? body : JSON.stringify(body));

export const FORM = 'application/x-www-form-urlencoded';
export const JSON_TYPE = 'application/json';
