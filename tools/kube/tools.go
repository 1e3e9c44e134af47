//go:build tools

// Package tools pins the Kubernetes control-plane binaries the end-to-end tests run.
// k8s.io/kubernetes is not meant to be required as a module: its go.mod replaces every
// staging module k8s.io/* with a local path, so this wrapper pins them to the published
// v0.36.x tags that match v1.36.x.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
