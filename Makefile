# kontor — what CI runs, a person runs.
.PHONY: run test lint bench build fmt check-charts

run:          ## the server with its embedded default database on 127.0.0.1:8080
	scripts/run.sh

test:         ## a throwaway PostgreSQL cluster, then the whole test suite
	scripts/test.sh

lint:         ## formatting and clippy, warnings are errors
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

bench:        ## HTTP booking throughput at concurrency 1, 16, 64 (see benches/README.md)
	benches/run.sh

build:
	cargo build --workspace --release

fmt:
	cargo fmt --all

check-charts:
	python3 fixtures/charts/check_charts.py
