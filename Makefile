# SPDX-License-Identifier: Apache-2.0
# Convenience entry points around the CMake build (the build itself is CMake).
#   make run    install build dependencies, build, run the agent (default configuration)
#   make test   install test dependencies, build, run every test, then the unit and
#               integration suites again under ASan/UBSan, then every fuzz target
#   make bench  run the benchmarks under bench/
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS ?= $(shell nproc)
ARGS ?=

.PHONY: all deps test-deps build run test test-asan fuzz bench clean

all: build

deps:
	bash scripts/install-deps.sh

test-deps:
	bash scripts/install-deps.sh --test

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD) -j $(JOBS)

run: build
	$(BUILD)/cgsight agent $(ARGS)

test: test-deps build
	bash scripts/clean-test-cgroups.sh
	cd $(BUILD) && ctest --output-on-failure --repeat until-pass:2 -L 'unit|integration|e2e'
	$(MAKE) test-asan
	$(MAKE) fuzz

test-asan: test-deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCGS_SANITIZE=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure --repeat until-pass:2 -L 'unit|integration'

# Every libFuzzer target for CGS_FUZZ_SECONDS (default 30) each, sanitizers on.
fuzz: test-deps
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCGS_FUZZ=ON
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	cd $(FUZZ_BUILD) && ctest --output-on-failure -L fuzz

bench: build
	bash bench/run.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
