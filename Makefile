# whitehall-operator. `make help` lists the targets.
SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec
.DEFAULT_GOAL := help

include hack/versions.env

export GOTOOLCHAIN := local
CACHE_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/whitehall-operator
TOOLS_DIR := $(CACHE_DIR)/tools
LOCAL_DIR := $(CURDIR)/.local
BIN_DIR := $(CURDIR)/bin

CONTROLLER_GEN := $(TOOLS_DIR)/controller-gen-$(CONTROLLER_GEN_VERSION)/controller-gen
GINKGO := $(TOOLS_DIR)/ginkgo-$(GINKGO_VERSION)/ginkgo
HELM := $(TOOLS_DIR)/helm-$(HELM_VERSION)/helm
GOLANGCI_LINT := $(TOOLS_DIR)/golangci-lint-$(GOLANGCI_LINT_VERSION)/golangci-lint
KUBE_MINOR := $(word 2,$(subst ., ,$(KUBE_VERSION)))

# The version is the chart's appVersion; the image is what the chart runs by default
# (image.repository:appVersion in charts/whitehall-operator).
VERSION ?= $(shell sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\} *$$/\1/p' charts/whitehall-operator/Chart.yaml)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD -- 2>/dev/null || echo -dirty)
VERSION := $(VERSION)
REVISION := $(REVISION)
IMG ?= ghcr.io/whitehall-cloud/whitehall-operator:$(VERSION)
IMAGE_ARCHIVE := $(BIN_DIR)/whitehall-operator.oci.tar
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.revision=$(REVISION)

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z0-9_-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate deepcopy code.
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths="./api/..."

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate CRDs and RBAC from the markers.
	$(CONTROLLER_GEN) rbac:roleName=whitehall-operator crd:generateEmbeddedObjectMeta=false paths="./..." \
		output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac

.PHONY: chart-sync
chart-sync: manifests ## Copy the generated CRDs and ClusterRole rules into charts/whitehall-operator.
	hack/chart-sync.sh

.PHONY: verify-gen
verify-gen: generate manifests chart-sync ## Fail when committed generated files are stale.
	@if [ -n "$$(git status --porcelain -- api config charts)" ]; then \
		echo "generated files are stale; run 'make generate manifests chart-sync' and commit:"; \
		git status --porcelain -- api config charts; git diff --stat -- api config charts; exit 1; fi

.PHONY: fmt
fmt: ## go fmt.
	go fmt ./...

.PHONY: vet
vet: ## go vet.
	go vet ./...

.PHONY: lint
lint: $(GOLANGCI_LINT) ## golangci-lint (.golangci.yml): depguard keeps gophercloud inside internal/openstack and test/ and the walls between the kinds; vet, staticcheck, errcheck, ginkgolinter, unused, misspell.
	$(GOLANGCI_LINT) run ./...

.PHONY: verify
verify: verify-gen vet ## Fresh generated files, go vet, gofmt (make lint checks the gophercloud boundary).
	@test -z "$$(gofmt -l api controllers internal test cmd)" || { gofmt -l api controllers internal test cmd; echo "run make fmt"; exit 1; }

.PHONY: vulncheck
vulncheck: ## govulncheck (needs vuln.go.dev, which this sandbox cannot reach; not part of make test).
	GOBIN=$(TOOLS_DIR)/govulncheck go install golang.org/x/vuln/cmd/govulncheck@v1.9.0
	$(TOOLS_DIR)/govulncheck/govulncheck ./...

.PHONY: build
build: ## Build the manager binary into bin/: static (CGO off), -trimpath, version and revision stamped.
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN_DIR)/manager ./cmd/manager

.PHONY: plugin
plugin: ## Build the kubectl plugin into bin/kubectl-whitehall (kubectl whitehall once on the PATH): static, -trimpath, version and revision stamped.
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN_DIR)/kubectl-whitehall ./cmd/kubectl-whitehall

.PHONY: image
image: build ## Build the operator image $(IMG) with podman (installed with apt when missing), from bin/manager; no registry needed.
	IMG=$(IMG) VERSION=$(VERSION) REVISION=$(REVISION) hack/image.sh build

.PHONY: image-save
image-save: image ## Write the image as an OCI archive, bin/whitehall-operator.oci.tar (podman load / skopeo copy it into a registry).
	IMG=$(IMG) VERSION=$(VERSION) ARCHIVE=$(IMAGE_ARCHIVE) hack/image.sh save

.PHONY: run
run: build ## Run the manager against the local control plane.
	KUBECONFIG=$(LOCAL_DIR)/kubeconfig $(BIN_DIR)/manager --operator-namespace=whitehall-system --metrics-bind-address=127.0.0.1:8080 --metrics-secure=false --health-probe-bind-address=:8081

##@ Test

.PHONY: test
test: verify lint test-unit test-envtest test-chart test-image test-e2e ## Every tier: static checks, unit, envtest, the chart, the image, end to end.

.PHONY: test-unit
test-unit: ## Tier 1: pure table tests.
	go test ./internal/... ./controllers/... ./cmd/... ./test/argocd/... -count=1

# The randomised suites run with fixed seeds in make test, so CI never depends on luck;
# make test-faults explores new ones. A seed that ever failed stays in these lists for good.
ENVTEST_SEED ?= 1
# The first seed runs the whole e2e suite (the crash suite's kill points follow it too);
# each other one runs the fault suite again (label "faults": the fault proxy follows the seed).
E2E_SEEDS ?= 1796156877 11 22 391852739 159695220 1002973686 279376029
# Extra ginkgo arguments for one focused run, e.g. GINKGO_ARGS='--focus=Tenant'.
GINKGO_ARGS ?=

.PHONY: test-envtest
test-envtest: control-plane-assets $(GINKGO) ## Tier 2: CRD validation and controllers on a real apiserver.
	@echo "envtest: seed $(ENVTEST_SEED)"
	KUBEBUILDER_ASSETS="$$(hack/control-plane-assets.sh)" $(GINKGO) -r --procs=1 --timeout=20m --seed=$(ENVTEST_SEED) $(GINKGO_ARGS) ./test/envtest

.PHONY: test-chart
test-chart: control-plane-assets $(HELM) ## Helm chart: lint, rendering, CRD/RBAC sync, install/upgrade/uninstall on a real apiserver.
	HELM=$(HELM) hack/chart-test.sh

.PHONY: test-e2e
test-e2e: build control-plane-assets dev-cloud $(GINKGO) ## Tier 3: the operator binary on the local control plane and the dev cloud.
	@echo "e2e: whole suite with seed $(firstword $(E2E_SEEDS)); fault suite with seeds $(wordlist 2,99,$(E2E_SEEDS))"
	$(E2E_ENV) $(GINKGO) -r --procs=1 --timeout=40m --seed=$(firstword $(E2E_SEEDS)) $(GINKGO_ARGS) ./test/e2e
	@if [ -z "$(GINKGO_ARGS)" ]; then for seed in $(wordlist 2,99,$(E2E_SEEDS)); do \
		echo "e2e: fault suite, seed $$seed"; \
		$(E2E_ENV) $(GINKGO) --procs=1 --timeout=15m --seed=$$seed --label-filter=faults ./test/e2e || exit 1; \
	done; fi

.PHONY: test-image
test-image: image control-plane-assets dev-cloud $(HELM) $(GINKGO) ## The image run with podman as the chart runs the pod: samples Ready, probes, metrics, clean SIGTERM, two replicas' hand-over.
	KUBEBUILDER_ASSETS="$$(hack/control-plane-assets.sh)" OS_CLIENT_CONFIG_FILE=$(LOCAL_DIR)/dev-cloud/clouds.yaml HELM=$(HELM) \
		IMG=$(IMG) VERSION=$(VERSION) REVISION=$(REVISION) $(GINKGO) -r --procs=1 --timeout=20m $(GINKGO_ARGS) ./test/image

.PHONY: test-faults
test-faults: build control-plane-assets dev-cloud $(GINKGO) ## Explore SEEDS new random seeds of the fault suite (not part of make test); failures go into E2E_SEEDS.
	E2E_ENV='$(E2E_ENV)' GINKGO=$(GINKGO) hack/e2e-seeds.sh $(or $(SEEDS),10)

E2E_ENV = KUBEBUILDER_ASSETS="$$(hack/control-plane-assets.sh)" OS_CLIENT_CONFIG_FILE=$(LOCAL_DIR)/dev-cloud/clouds.yaml MANAGER_BIN=$(BIN_DIR)/manager

.PHONY: bench
bench: ## Benchmarks against the local control plane and the dev cloud (not part of make test); the table goes to test/bench/results/.
	hack/bench.sh

##@ Local environment

.PHONY: control-plane-assets
control-plane-assets: ## Build kube-apiserver, kubectl and etcd from the Go module proxy (cached).
	@hack/control-plane-assets.sh >/dev/null

.PHONY: cluster
cluster: control-plane-assets ## Run a standing local control plane; kubeconfig in .local/kubeconfig.
	hack/control-plane.sh up

.PHONY: cluster-down
cluster-down: ## Stop the local control plane.
	hack/control-plane.sh down

.PHONY: dev-cloud
dev-cloud: ## Bring up the local OpenStack (idempotent); clouds.yaml in .local/dev-cloud/.
	hack/dev-cloud/up.sh

.PHONY: dev-cloud-down
dev-cloud-down: ## Stop the local OpenStack.
	hack/dev-cloud/down.sh

.PHONY: install
install: manifests ## Install the CRDs into the cluster KUBECONFIG points at.
	$(KUBECTL) apply --server-side -f config/crd/bases

.PHONY: demo
demo: build plugin cluster dev-cloud ## Everything up (the kubectl plugin built into bin/ too), samples applied and Ready, left running.
	hack/demo.sh up

.PHONY: demo-down
demo-down: ## Stop the demo: operator, control plane, dev cloud.
	hack/demo.sh down

##@ Tools

$(CONTROLLER_GEN):
	GOBIN=$(dir $@) go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_GEN_VERSION)

$(HELM):
	GOBIN=$(dir $@) go install -ldflags "-X helm.sh/helm/v3/internal/version.version=$(HELM_VERSION) -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$(KUBE_MINOR) -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$(KUBE_MINOR)" helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)

$(GOLANGCI_LINT):
	GOBIN=$(dir $@) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

$(GINKGO):
	GOBIN=$(dir $@) go install github.com/onsi/ginkgo/v2/ginkgo@$(GINKGO_VERSION)

KUBECTL = $$(hack/control-plane-assets.sh)/kubectl
