# The two commands: `make run` and `make test`. Both install what is missing first.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: setup run test compat bench bench-aws bench-soak bench-http bench-tenants bench-delivery bench-tasks bench-analytics bench-memory bench-python build components

setup:
	./scripts/setup.sh

build: setup
	$(CARGO) build --release --locked -p frameflow -p frameflow-full

# The WebAssembly components (wasm32-wasip2) into components/dist/.
components: setup
	./scripts/build-components.sh

run: build components
	./scripts/demo.sh

test: setup
	# the Python package (clients/python), built and installed into the tools venv, then
	# pytest; first, so the end-to-end tests can check Python plans the clips a job does
	./scripts/test-python.sh
	# every binary first: `frameflow` hands serve, flow and sample to `frameflow-full`,
	# which `cargo test` alone does not build
	$(CARGO) build --workspace --bins --locked
	$(CARGO) test --workspace --locked
	# the components' own unit tests, natively: query parsing, names, sampling strategies
	$(CARGO) test --locked --manifest-path components/Cargo.toml -p frameflow-guest -p frameflow-frames -p frameflow-jobs -p frameflow-sampling -p frameflow-analysis --lib

# Not part of `make test`: the Python package against torchcodec, each compatibility test
# (clients/python/tests/test_compat.py) on both, in a venv with the pinned torch and
# torchcodec; writes both pass counts into BENCHMARKS.md ("Compatibility").
compat: setup
	./scripts/compat.sh

# Not part of `make test`: frameflow against its peers, side by side, the soak run (32 and
# 128 clients, 10 minutes each) and the containment run; all write BENCHMARKS.md.
bench: setup
	./scripts/bench.sh
	./scripts/bench-python.sh
	./scripts/bench-soak.sh
	./scripts/bench-tenants.sh
	./scripts/bench-delivery.sh
	./scripts/bench-tasks.sh
	./scripts/bench-analytics.sh
	./scripts/bench-memory.sh
	./scripts/bench-aws.sh

# SIGTERM drain under load; frameflow-lambda cold start and warm invocations (cargo-lambda, moto).
bench-aws: setup
	./scripts/bench-aws.sh

# The Python package vs torchcodec and decord (needs scripts/bench.sh's venv and videos).
bench-python: setup
	./scripts/bench-python.sh

# Streaming (file store and S3), thumbnails and storyboards.
bench-delivery: setup
	./scripts/bench-delivery.sh

# Analysis tasks: analysed fps per built-in analyzer at 720p, live streams per host.
bench-tasks: setup
	./scripts/bench-tasks.sh

# Analytics over ~10^6 detections: upload, queries, representative faces and frames.
bench-analytics: setup
	./scripts/bench-analytics.sh

# Job memory on a 1-minute vs a 1-hour video.
bench-memory: setup
	./scripts/bench-memory.sh

# One tenant's frame latency alone and beside another's looping / hoarding sampler.
bench-tenants: setup
	./scripts/bench-tenants.sh

bench-soak: setup
	./scripts/bench-soak.sh

# The HTTP server under load (wrk), and the component path vs the media core in-process.
bench-http: build components
	./scripts/bench-http.sh
