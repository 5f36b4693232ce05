import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

// Just enough DER to write one self-signed X.509 v1 certificate (RFC 5280 §4.1): Node can read and verify
// certificates but not make them, and a fixed one would expire.

function der(tag: number, content: Buffer): Buffer {
  const length = content.length;
  let head: Buffer;
  if (length < 0x80) head = Buffer.from([tag, length]);
  else {
    const bytes: number[] = [];
    for (let n = length; n > 0; n >>= 8) bytes.unshift(n & 0xff);
    head = Buffer.from([tag, 0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([head, content]);
}

const sequence = (...items: Buffer[]) => der(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => der(0x31, Buffer.concat(items));

function oid(dotted: string): Buffer {
  const [first = 0, second = 0, ...rest] = dotted.split('.').map(Number);
  const bytes = [first * 40 + second];
  for (const arc of rest) {
    const base128: number[] = [arc & 0x7f];
    for (let n = Math.floor(arc / 128); n > 0; n = Math.floor(n / 128)) base128.unshift((n & 0x7f) | 0x80);
    bytes.push(...base128);
  }
  return der(0x06, Buffer.from(bytes));
}

/** A positive INTEGER from big-endian bytes whose first byte is 0x01–0x7f (DER: no leading zero, no sign bit). */
function positiveInteger(bytes: Buffer): Buffer {
  return der(0x02, bytes);
}

/** UTCTime for 1950–2049, GeneralizedTime after, as RFC 5280 §4.1.2.5 requires. */
function time(ms: number): Buffer {
  const iso = new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const year = Number(iso.slice(0, 4));
  return year < 2050 ? der(0x17, Buffer.from(`${iso.slice(2)}Z`)) : der(0x18, Buffer.from(`${iso}Z`));
}

const name = (commonName: string) => sequence(set(sequence(oid('2.5.4.3'), der(0x0c, Buffer.from(commonName, 'utf8')))));

export interface SelfSignedCertificate {
  readonly certificate: string;
  readonly privateKey: KeyObject;
}

/** A fresh RSA key and a self-signed certificate for it, valid from `notBefore` to `notAfter` (ms). */
export function selfSignedCertificate(commonName: string, notBefore: number, notAfter: number): SelfSignedCertificate {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const sha256WithRsa = sequence(oid('1.2.840.113549.1.1.11'), der(0x05, Buffer.alloc(0)));
  const serial = positiveInteger(Buffer.concat([Buffer.from([0x01 + (randomBytes(1)[0]! % 0x7f)]), randomBytes(15)]));
  const tbs = sequence(
    serial,
    sha256WithRsa,
    name(commonName),
    sequence(time(notBefore), time(notAfter)),
    name(commonName),
    publicKey.export({ type: 'spki', format: 'der' }),
  );
  const signature = sign('sha256', tbs, privateKey);
  const cert = sequence(tbs, sha256WithRsa, der(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const lines = cert.toString('base64').match(/.{1,64}/g) ?? [];
  return { certificate: `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`, privateKey };
}
