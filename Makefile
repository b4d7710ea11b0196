# Tether integration operator. `make help` lists the targets.

IMG ?= tether/integration-operator:dev
BIN := $(CURDIR)/bin
CONTROLLER_GEN := $(BIN)/controller-gen
KUBECTL := $(BIN)/k8s/kubectl
export KUBEBUILDER_ASSETS := $(BIN)/k8s
GOTEST_FLAGS ?= -count=1

.PHONY: all
all: build

.PHONY: help
help: ## Show the targets.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*?##/ { printf "  %-16s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate CRDs and RBAC from the API types and kubebuilder markers.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd webhook paths="./api/..." paths="./controllers/..." paths="./internal/..." output:crd:artifacts:config=config/crd/bases

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate deepcopy code.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./api/..."

.PHONY: fmt
fmt: ## go fmt
	go fmt ./...

.PHONY: vet
vet: ## go vet
	go vet ./...

.PHONY: control-plane
control-plane: ## Build kube-apiserver, etcd and kubectl from the Go module proxy into bin/k8s (cached).
	hack/control-plane.sh

.PHONY: test
test: control-plane ## Run every test: unit, sandbox conformance, store and envtest suites.
	go test $(GOTEST_FLAGS) ./...

FUZZTIME ?= 15s
FUZZ_TARGETS := ./connectors:FuzzResumeTokens ./connectors:FuzzWireResponses ./connectors:FuzzSandboxRequests ./internal/mapping:FuzzApply

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (CI runs a short smoke pass).
	@set -e; for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; name=$${t##*:}; \
	  echo "fuzz: $$name in $$pkg for $(FUZZTIME)"; \
	  go test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg; done

.PHONY: bench
bench: ## Run the bench command (engine, rate-limit and bulk figures) and the Go benchmarks.
	go run ./cmd/bench all
	go test -run '^$$' -bench . -benchtime=1x ./...

##@ Build

.PHONY: build
build: ## Build the manager and the sandbox command.
	go build -o $(BIN)/manager ./cmd/manager
	go build -o $(BIN)/sandbox ./cmd/sandbox

.PHONY: run
OAUTH_EXTERNAL_URL ?=
run: manifests generate ## Run the manager against the cluster in KUBECONFIG (OAUTH_EXTERNAL_URL=... serves the connect flow).
	go run ./cmd/manager $(if $(OAUTH_EXTERNAL_URL),--oauth-external-url=$(OAUTH_EXTERNAL_URL))

.PHONY: docker-build
docker-build: ## Build the manager image.
	docker build -t $(IMG) .

.PHONY: demo
demo: build control-plane ## Local end to end: control plane, CRDs, sandboxes, manager, samples; leaves it running.
	hack/demo.sh

.PHONY: demo-down
demo-down: ## Stop what `make demo` started.
	hack/demo.sh down

##@ Deployment

.PHONY: install
install: manifests ## Install the CRDs into the cluster in KUBECONFIG.
	$(KUBECTL) apply --server-side -k config/crd

.PHONY: uninstall
uninstall: manifests ## Remove the CRDs from the cluster in KUBECONFIG.
	$(KUBECTL) delete --ignore-not-found -k config/crd

.PHONY: deploy
deploy: manifests ## Deploy the operator to the cluster in KUBECONFIG (image $(IMG)).
	cd config/manager && $(KUBECTL) kustomize . >/dev/null
	$(KUBECTL) kustomize config/default | sed 's|image: controller:latest|image: $(IMG)|' | $(KUBECTL) apply --server-side -f -

.PHONY: undeploy
undeploy: ## Remove the operator from the cluster in KUBECONFIG.
	$(KUBECTL) kustomize config/default | $(KUBECTL) delete --ignore-not-found -f -

$(CONTROLLER_GEN): hack/tools/gen/go.mod hack/tools/gen/go.sum
	cd hack/tools/gen && go build -o $(CONTROLLER_GEN) sigs.k8s.io/controller-tools/cmd/controller-gen
