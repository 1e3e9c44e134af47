/**
 * DSSE pre-authentication encoding (PAE), what a DSSE signature covers:
 * "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, LEN = byte length in ASCII decimal.
 * https://github.com/secure-systems-lab/dsse/blob/master/protocol.md
 */
export function dssePae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  const head = Buffer.from(`DSSEv1 ${type.length} ${payloadType} ${payload.length} `, 'utf8');
  return Buffer.concat([head, payload]);
}
