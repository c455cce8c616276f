# The two commands a new user needs: `make demo` and `make test`. Both install libtorch first
# when it is missing (scripts/setup-libtorch.sh).
.PHONY: setup demo test build lint fmt bench-extract

setup:
	@scripts/setup-libtorch.sh

demo: setup
	cargo run --release -p graft -- demo

test: setup
	cargo test --workspace

build: setup
	cargo build --release -p graft

lint: setup
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all

bench-extract: setup
	scripts/bench/extract.sh
