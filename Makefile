# The two commands of README.md. Each does the whole set-up first, so a fresh
# Debian 12 machine needs nothing else (run as root: packages come from apt).
.PHONY: setup setup-test build run test unit integration fuzz bench format clean

JOBS ?= $(shell nproc)

setup:
	@bash scripts/setup.sh

setup-test:
	@bash scripts/setup.sh --test

build: setup
	@cmake --preset default >/dev/null
	@cmake --build build -j$(JOBS)

run: build
	./build/gatehouse serve $(ARGS)

test: setup-test build
	@cd build && ctest --output-on-failure -j2 --timeout 1200

unit: build
	@cd build && ctest --output-on-failure -j$(JOBS) -L 'unit|fuzz'

integration: setup-test build
	@cd build && ctest --output-on-failure -L integration

fuzz: setup-test
	@bash scripts/fuzz.sh

bench: setup-test build
	@bash bench/relay.sh

format:
	@clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf build build-sanitize
