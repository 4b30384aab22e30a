# kontor — what CI runs, a person runs.
.PHONY: run test lint bench build fmt check-charts

run:          ## the server with its embedded default database on 127.0.0.1:8080
	scripts/run.sh

test:         ## a throwaway PostgreSQL cluster, then the whole test suite
	scripts/test.sh

lint:         ## formatting and clippy, warnings are errors
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

bench:        ## every benchmark (BENCH_SUITES selects some; see benches/README.md)
	benches/all.sh

build:
	cargo build --workspace --release

fmt:
	cargo fmt --all

check-charts:
	python3 fixtures/charts/check_charts.py
