import { describe, expect, it } from 'vitest';
import { parseHey } from './admission.js';

const OUT = `
Summary:
  Total:	10.0041 secs
  Slowest:	0.0171 secs
  Fastest:	0.0006 secs
  Average:	0.0034 secs
  Requests/sec:	998.8000

Latency distribution:
  10%% in 0.0011 secs
  50%% in 0.0035 secs
  90%% in 0.0041 secs
  99%% in 0.0057 secs

Status code distribution:
  [200]	9985 responses
  [500]	3 responses

Error distribution:
  [2]	Post "https://127.0.0.1:1/validate": EOF
`;

describe('parseHey', () => {
  it("reads hey's latency distribution, rate and failures", () => {
    expect(parseHey(OUT, 10)).toEqual({
      count: 9985,
      errors: 5,
      seconds: 10,
      rps: 998.8,
      p50: 3.5,
      p90: 4.1,
      p99: 5.7,
      max: 17.1,
    });
  });
});
