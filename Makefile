# The two commands: `make run` and `make test`. Both install what is missing first.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: setup run test bench build components

setup:
	./scripts/setup.sh

build: setup
	$(CARGO) build --release --locked -p frameflow

# The WebAssembly components (wasm32-wasip2) into components/dist/.
components: setup
	./scripts/build-components.sh

run: build components
	./scripts/demo.sh

test: setup
	$(CARGO) test --workspace --locked
	# the components' own unit tests, natively: query parsing, names, sampling strategies
	$(CARGO) test --locked --manifest-path components/Cargo.toml -p frameflow-guest -p frameflow-frames -p frameflow-sampling --lib

# Not part of `make test`: measures frameflow against its peers (see BENCHMARKS.md).
bench: build
	./scripts/bench-media.sh
	./scripts/bench-flow.sh
	./scripts/bench-http.sh
	./scripts/bench-clips.sh
