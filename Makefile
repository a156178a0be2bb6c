# The entry points. Each installs what it needs first (hack/install-deps.sh).
.PHONY: run test build generate fuzz fmt lint clean docker-up docker-down bench image cluster
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo unknown)

run:        ## The main job: set up, build, run examples/hello.yaml through Docker
	hack/run-example.sh

test:       ## The whole test suite, every tier (what CI runs)
	hack/test.sh

build:      ## Build ctask into build/
	hack/build.sh

generate:   ## Rewrite the files generated from the schema (crds/, docs/api.md)
	hack/build.sh && build/ctask-gen .

fuzz:       ## Only the fuzzing tier (CTASK_FUZZ_SECONDS, default 60)
	hack/fuzz.sh

image:      ## The operator's image, ctask:$(VERSION) and ctask:dev (VERSION default: git describe)
	CTASK_VERSION=$(VERSION) hack/image.sh

cluster:    ## Try ctask on a local single-node Kubernetes cluster (no registry); prints the KUBECONFIG
	hack/cluster/try.sh

bench:      ## Build and run the benchmarks in bench/ (ratios against Docker itself)
	bench/run.sh

docker-up:  ## Start a local Docker daemon (if none answers) and build the test image
	hack/docker-up.sh

docker-down: ## Stop the Docker daemon that docker-up started (only that one)
	hack/docker-down.sh

lint:       ## clang-format check and clang-tidy (.clang-tidy) over src/ and controller/
	hack/build.sh && hack/lint.sh

fmt:        ## Format the C++ sources
	clang-format-16 -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf build build-asan build-fuzz
