//go:build tools

// Kyverno 1.19.1 for the bench's side-by-side (BENCH_PEERS=1 only, never in CI): built from its
// Go module like the other tools (tools/build.sh kyverno); about 7 minutes on 2 cores.
package tools

import _ "github.com/kyverno/kyverno/cmd/kyverno"
