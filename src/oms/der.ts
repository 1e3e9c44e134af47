/**
 * The few X.509 extensions node:crypto does not expose (key usage bits, SAN entries one by one,
 * basic constraints' path length, which extensions are critical), read from the certificate's DER.
 * A minimal, bounds-checked DER walker that descends only along the known path: no recursion
 * driven by the input, so a hostile certificate costs at most one pass over its bytes.
 */

interface Tlv {
  tag: number;
  /** Content [start, end). */
  start: number;
  end: number;
}

/** The TLV at pos within [pos, limit), or undefined when malformed (long tags, indefinite or overlong lengths). */
function readTlv(buf: Buffer, pos: number, limit: number): Tlv | undefined {
  if (pos + 2 > limit) return undefined;
  const tag = buf[pos] as number;
  if ((tag & 0x1f) === 0x1f) return undefined;
  let len = buf[pos + 1] as number;
  let start = pos + 2;
  if (len >= 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > limit) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (buf[start + i] as number);
    start += n;
  }
  const end = start + len;
  return end > limit ? undefined : { tag, start, end };
}

function children(buf: Buffer, parent: Tlv): Tlv[] | undefined {
  const out: Tlv[] = [];
  for (let pos = parent.start; pos < parent.end; ) {
    const t = readTlv(buf, pos, parent.end);
    if (t === undefined) return undefined;
    out.push(t);
    pos = t.end;
  }
  return out;
}

export interface Extension {
  /** The OID's DER content bytes as hex (2.5.29.15 → "551d0f"). */
  oid: string;
  critical: boolean;
  value: Tlv;
}

export const OID = {
  keyUsage: '551d0f',
  subjectAltName: '551d11',
  basicConstraints: '551d13',
  extKeyUsage: '551d25',
  codeSigning: '2b06010505070303',
} as const;

function readExtension(buf: Buffer, t: Tlv): Extension | undefined {
  const parts = children(buf, t);
  const [oid, second, third] = parts ?? [];
  if (oid?.tag !== 0x06) return undefined;
  const critical = second?.tag === 0x01 && buf[second.start] === 0xff;
  const value = second?.tag === 0x04 ? second : third;
  if (value?.tag !== 0x04) return undefined;
  return { oid: buf.subarray(oid.start, oid.end).toString('hex'), critical, value };
}

/** The fields of tbsCertificate, or undefined when the DER is not a SEQUENCE { SEQUENCE ... }. */
function tbsFields(der: Buffer): Tlv[] | undefined {
  const cert = readTlv(der, 0, der.length);
  const tbs = cert?.tag === 0x30 ? children(der, cert)?.[0] : undefined;
  return tbs?.tag === 0x30 ? children(der, tbs) : undefined;
}

/** The certificate's extensions, or undefined when its DER is not shaped like an X.509 v3 certificate. */
export function certificateExtensions(der: Buffer): Extension[] | undefined {
  const fields = tbsFields(der);
  if (fields === undefined) return undefined;
  const wrapper = fields.find((f) => f.tag === 0xa3);
  if (wrapper === undefined) return [];
  const list = children(der, wrapper)?.[0];
  const items = list?.tag === 0x30 ? children(der, list) : undefined;
  if (items === undefined) return undefined;
  const out: Extension[] = [];
  for (const item of items) {
    const ext = item.tag === 0x30 ? readExtension(der, item) : undefined;
    if (ext === undefined) return undefined;
    out.push(ext);
  }
  return out;
}

/** The TLV inside an extension's OCTET STRING. */
function inner(der: Buffer, ext: Extension): Tlv | undefined {
  return readTlv(der, ext.value.start, ext.value.end);
}

/** keyUsage bit `bit` (0 = digitalSignature, 5 = keyCertSign). */
export function keyUsageBit(der: Buffer, ext: Extension, bit: number): boolean {
  const bits = inner(der, ext);
  if (bits?.tag !== 0x03) return false;
  const byte = der[bits.start + 1 + (bit >> 3)];
  return byte !== undefined && bits.start + 1 + (bit >> 3) < bits.end && (byte & (0x80 >> (bit & 7))) !== 0;
}

/** The extended key usage OIDs (hex of their DER content). */
export function extKeyUsages(der: Buffer, ext: Extension): string[] {
  const seq = inner(der, ext);
  const oids = seq?.tag === 0x30 ? children(der, seq) : undefined;
  return (oids ?? []).filter((o) => o.tag === 0x06).map((o) => der.subarray(o.start, o.end).toString('hex'));
}

/** SAN rfc822Name [1], dNSName [2] and URI [6] values (IA5 strings), as written. */
export function subjectAltNames(der: Buffer, ext: Extension): string[] {
  const seq = inner(der, ext);
  const names = seq?.tag === 0x30 ? children(der, seq) : undefined;
  return (names ?? [])
    .filter((n) => n.tag === 0x81 || n.tag === 0x82 || n.tag === 0x86)
    .map((n) => der.subarray(n.start, n.end).toString('latin1'));
}

/** basicConstraints: cA, and pathLenConstraint when present. */
export function basicConstraints(der: Buffer, ext: Extension): { ca: boolean; pathLen?: number } {
  const seq = inner(der, ext);
  const parts = seq?.tag === 0x30 ? (children(der, seq) ?? []) : [];
  const first = parts[0];
  const ca = first?.tag === 0x01 && der[first.start] === 0xff;
  const int = parts.find((p) => p.tag === 0x02);
  if (!ca || int === undefined || int.end - int.start > 4) return { ca };
  let pathLen = 0;
  for (let i = int.start; i < int.end; i++) pathLen = pathLen * 256 + (der[i] as number);
  return { ca, pathLen };
}
