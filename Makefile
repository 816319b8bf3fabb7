# Warden: the few commands a user needs. `make run` serves the default model; `make test` runs every test.
SWIFT ?= swift
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: setup build release test test-tsan format fuzz run bench bench-check bench-record clean

## Seconds per fuzz target: FUZZ_SECONDS for `make fuzz`, FUZZ_SMOKE_SECONDS for the smoke run in `make test`.
FUZZ_SECONDS ?= 600
FUZZ_SMOKE_SECONDS ?= 5

setup:
	@scripts/setup.sh

build: setup
	$(SWIFT) build

release: setup
	$(SWIFT) build -c release --product warden

## The README's test command: installs what is missing, validates the Kubernetes manifests, checks the Python
## normalisation reference against its golden file, lints and tests the Python under scripts/ (ruff, pytest),
## builds, runs the whole suite (Swift; the tokenizer against Hugging Face `tokenizers` on generated text; each
## fuzz target for FUZZ_SMOKE_SECONDS; the official OpenAI Python SDK against the built server; nats-py and pika
## against the built worker; the page at GET / in Debian's headless chromium through Selenium).
test: setup
	scripts/format.sh --check
	scripts/validate_k8s.sh
	PYTHONPATH=scripts python3 -m generate.make_normalization_golden --check
	scripts/test_scripts.sh
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	scripts/test_tokenizer_parity.sh
	FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS) scripts/fuzz.sh
	scripts/test_openai_sdk.sh
	scripts/test_nats_py.sh
	scripts/test_amqp_py.sh
	scripts/test_page_browser.sh

## Formats the Swift sources in place (.swift-format); `make test` checks that they are.
format:
	scripts/format.sh

## Same suite under ThreadSanitizer (slow; run by hand).
test-tsan: setup
	$(SWIFT) test --sanitize=thread --scratch-path .build-tsan

## Builds every libFuzzer target (Fuzz/) into .build-fuzz/ and runs each for FUZZ_SECONDS on a copy of its corpus.
fuzz: setup
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh

## Builds in release mode and serves the default model on $(HOST):$(PORT).
run: release
	@.build/release/warden serve --host $(HOST) --port $(PORT)

bench: setup
	WARDEN_BENCHMARKS=1 $(SWIFT) package benchmark

## Benchmark thresholds are per CPU kind (scripts/cpu_key.sh): timings from one CPU say nothing about another.
bench-check: setup
	@dir=Benchmarks/thresholds/$$(scripts/cpu_key.sh); \
	if [ ! -d "$$dir" ]; then echo "no benchmark thresholds recorded for this CPU ($$dir); record them with 'make bench-record'" >&2; exit 1; fi; \
	WARDEN_BENCHMARKS=1 $(SWIFT) package benchmark thresholds check --path "$$dir"

bench-record: setup
	@dir=Benchmarks/thresholds/$$(scripts/cpu_key.sh); mkdir -p "$$dir"; \
	WARDEN_BENCHMARKS=1 $(SWIFT) package --allow-writing-to-package-directory benchmark thresholds update --path "$$dir"

clean:
	rm -rf .build .build-*
