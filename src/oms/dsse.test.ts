import { describe, expect, it } from 'vitest';
import { dssePae } from './dsse.js';

describe('dssePae', () => {
  it('is the DSSE protocol example byte for byte', () => {
    // secure-systems-lab/dsse protocol.md: PAE("http://example.com/HelloWorld", "hello world")
    expect(dssePae('http://example.com/HelloWorld', Buffer.from('hello world')).toString()).toBe(
      'DSSEv1 29 http://example.com/HelloWorld 11 hello world',
    );
  });

  it('counts bytes, not characters, and keeps the payload bytes as they are', () => {
    const payload = Buffer.from([0xe2, 0x82, 0xac, 0x00, 0xff]);
    const pae = dssePae('t/é', payload);
    expect(pae.subarray(0, 15).toString()).toBe('DSSEv1 4 t/é 5'); // é is 2 bytes
    expect(pae.subarray(-5)).toEqual(payload);
  });
});
