# The two commands of the README, plus the benchmark run. Each installs the
# Debian packages it needs first (.ci/install-deps), then drives the CMake
# presets in CMakePresets.json.
.PHONY: demo test test-asan test-tsan test-fuzz test-bench test-tsan-bench bench docs deps clean

SCALE ?= 1.0
FUZZ_SECONDS ?= 20

deps:
	@.ci/install-deps

## make demo: build the examples and the relstore tool, and run them.
demo: deps
	cmake --preset release >/dev/null
	cmake --build --preset release --target examples $(if $(wildcard tools/CMakeLists.txt),relstore_cli)
	@for exe in build/release/examples/[0-9][0-9]_*; do \
	    [ -x "$$exe" ] || continue; \
	    echo "== $$(basename $$exe)"; \
	    (cd build/release && "../../$$exe") || exit 1; \
	done
	@if [ -x build/release/tools/relstore ]; then \
	    echo "== relstore info tutorial.snap"; \
	    build/release/tools/relstore info build/release/tutorial.snap; \
	fi

## make test: every test suite: all tests under ASan+UBSan, the concurrency
## stress test under TSan, the snapshot and journal fuzzers for a bounded time
## each, and the benchmark suite once at a tiny scale as a correctness check.
# After the ASan suite, the fuzzers (their build, then one core for
# FUZZ_SECONDS each) run beside the TSan suite and the bench smoke, so that no core
# idles while the fuzzer runs. Each of the two streams builds with nproc jobs,
# as many compilers at once as the ASan build alone runs (memory).
test: deps
	@$(MAKE) --no-print-directory test-asan
	@$(MAKE) --no-print-directory -j2 --output-sync=target BUILD_JOBS=$$(nproc) test-fuzz test-tsan-bench

test-tsan-bench:
	@$(MAKE) --no-print-directory test-tsan
	@$(MAKE) --no-print-directory test-bench

# Empty: cmake's default (ninja: nproc + 2 jobs).
BUILD_JOBS ?=
jobs = $(if $(BUILD_JOBS),-j $(BUILD_JOBS))

test-asan:
	cmake --preset asan >/dev/null
	cmake --build --preset asan
	ctest --preset asan -j$$(nproc)

test-tsan:
	cmake --preset tsan >/dev/null
	cmake --build --preset tsan $(jobs)
	TSAN_OPTIONS=halt_on_error=1 ctest --preset tsan -j$$(nproc)

test-fuzz:
	@if [ -f fuzz/CMakeLists.txt ]; then \
	    cmake --preset fuzz >/dev/null && cmake --build --preset fuzz $(jobs) && \
	    FUZZ_SECONDS=$(FUZZ_SECONDS) ctest --test-dir build/fuzz --output-on-failure; \
	fi

test-bench:
	@if [ -f bench/CMakeLists.txt ]; then \
	    cmake --preset bench >/dev/null && cmake --build --preset bench-smoke $(jobs) && \
	    ctest --test-dir build/bench -L bench-smoke --output-on-failure; \
	fi

## make bench: the benchmark suite at SCALE (default 1.0), with the report.
bench:
	@.ci/install-deps --bench
	bench/run.sh $(SCALE)

## make docs: render docs/tutorial-schema.svg, the README's schema picture
## (needs Graphviz's dot, which is optional: without it this says so).
docs: deps
	cmake --preset release >/dev/null
	cmake --build --preset release --target docs

clean:
	rm -rf build
