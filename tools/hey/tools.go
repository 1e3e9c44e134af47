//go:build tools

// Package tools pins hey, a Go HTTP load generator: `make bench` drives the paced admission
// load with it too, so the latency tail is measured by two independent clients.
package tools

import _ "github.com/rakyll/hey"
