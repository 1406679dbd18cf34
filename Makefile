# vqtrace: the two commands of the README, plus fuzzing and benchmarks.
#   make demo   build, then run the end-to-end demo (writes into Reports/)
#   make test   install missing Debian packages, build, run the whole test suite
#   make fuzz   run every libFuzzer harness for FUZZ_SECONDS each (default 60)
#   make guest-test  boot a real Linux guest (QEMU, TCG) on vqtrace serve and on qemu-storage-daemon

SHELL := /bin/bash
# qemu-system-x86, cpio, kmod and busybox-static build and boot the test guest (guest/);
# postgresql is the throwaway server the catalog tests run against (Tests/postgres-test-server.sh).
APT_PACKAGES := liburing-dev libzstd-dev libsqlite3-dev pkg-config fio chromium qemu-system-x86 cpio kmod busybox-static postgresql
FUZZ_SECONDS ?= 60
FUZZ_DIR := .build-fuzz
SWIFT_BIN := $(dir $(shell readlink -f $$(command -v swiftc)))
CLANG := $(SWIFT_BIN)clang
FUZZ_VIRTIO_HARNESSES := virtqueue-device blk-parser
FUZZ_TRACE_HARNESSES := trace-decoder
FUZZ_IMPORT_HARNESSES := import-parsers
FUZZ_HARNESSES := $(FUZZ_VIRTIO_HARNESSES) $(FUZZ_TRACE_HARNESSES) $(FUZZ_IMPORT_HARNESSES)

.PHONY: all deps build release demo test fuzz bench guest-test clean

all: build

# Idempotent: installs only what dpkg does not already have (as root, or through sudo).
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing >/dev/null; \
	fi

build: deps
	swift build

release: deps
	swift build -c release

demo: release
	.build/release/vqtrace demo

# The last line is a plain "N passed, N failed" summary of the Swift Testing run.
test: deps
	swift build --build-tests
	@# The libraries as another package uses them: Examples/ReplayTrace depends on this one by path.
	swift build --package-path Examples/ReplayTrace
	Examples/ReplayTrace/.build/debug/ReplayTrace
	@# A throwaway PostgreSQL (initdb in /tmp, a free loopback port) for the PostgreSQL half of the
	@# catalog tests, stopped whatever the tests do; without one those cases are skipped, saying why.
	@set -o pipefail; mkdir -p .build; \
	if pgdir=$$(Tests/postgres-test-server.sh start); then \
	  export VQTRACE_TEST_POSTGRES=$$(cat $$pgdir/url); trap 'Tests/postgres-test-server.sh stop '"$$pgdir" EXIT; \
	  echo "test PostgreSQL at $$VQTRACE_TEST_POSTGRES"; \
	else echo "no test PostgreSQL could be started: the PostgreSQL catalog tests are skipped"; fi; \
	swift test --skip-build 2>&1 | tee .build/test-output.log; status=$$?; \
	total=$$(grep -oE 'Test run with [0-9]+ tests?' .build/test-output.log | grep -oE '[0-9]+' | tail -1); \
	failed=$$(grep -cE '^✘ Test .* failed' .build/test-output.log); \
	echo "$$(( $${total:-0} - failed )) passed, $$failed failed"; \
	exit $$status

bench: release
	.build/release/vqtrace bench --component virtqueue
	.build/release/vqtrace bench --component virtqueue --event-idx --indirect
	.build/release/vqtrace bench --component trace --window-requests 100000000
	.build/release/vqtrace bench --component import --requests 2000000
	@# The engine against fio on a file of real data: five interleaved pairs each (issue 19's figures).
	.build/release/vqtrace bench --target /tmp/vqtrace-bench.img --size 1G --vqs 1 --qd 32 --duration 5s --compare-fio --pairs 5
	.build/release/vqtrace bench --target /tmp/vqtrace-bench.img --size 1G --vqs 1 --qd 32 --duration 5s --compare-fio --pairs 5 --poll-completions
	@# At most 2 requests per io_uring submission instead of a pass's (QEMU's behaviour, the default).
	.build/release/vqtrace bench --target /tmp/vqtrace-bench.img --size 1G --vqs 1 --qd 32 --duration 5s --compare-fio --pairs 5 --submit-batch 2
	.build/release/vqtrace bench --target /tmp/vqtrace-bench.img --size 1G --vqs 1 --qd 1 --duration 5s --compare-fio --pairs 5
	for layout in single rr:2 per-vq; do .build/release/vqtrace bench --target /tmp/vqtrace-bench.img --size 1G --vqs 8 --qd 32 --duration 5s --compare-fio --pairs 5 $$layout || exit 1; done
	.build/release/vqtrace bench --backend null --vqs 8 --qd 128 --duration 5s --compare-fio
	.build/release/vqtrace bench --component replay --duration 5s
	.build/release/vqtrace bench --component replay --duration 5s --competing-load 1
	rm -f /tmp/vqtrace-bench.img

# Each harness is the sources of one module plus one Fuzz/*.swift file, built with libFuzzer and
# AddressSanitizer; a crash, an ASan report or a harness check (out-of-region access, a round trip
# that differs) fails. Virtio harnesses: the virtqueue and virtio-blk parser; trace: the .vqt decoder
# (Trace uses Virtio's request types, so it is built with the Virtio sources); import: the text
# trace parsers and the importer (built with the Virtio and Trace sources). Trace's system calls
# go through SystemSupport and swift-system, which SwiftPM builds once (uninstrumented: they are
# not what is fuzzed) for the harnesses to import and link.
FUZZ_SPM := $(FUZZ_DIR)/spm
FUZZ_SYSTEM := -I$(FUZZ_SPM)/release/Modules -Xcc -I$(FUZZ_SPM)/checkouts/swift-system/Sources/CSystem/include \
  $$(ls $(FUZZ_SPM)/release/SystemSupport.build/*.o $(FUZZ_SPM)/release/SystemPackage.build/*.o $(FUZZ_SPM)/release/CSystem.build/*.o)
fuzz: deps
	@mkdir -p $(FUZZ_DIR)
	swift build -c release --target SystemSupport --scratch-path $(FUZZ_SPM)
	$(CLANG) -O1 -g -fsanitize=fuzzer-no-link,address -ISources/CLinuxShim/include \
	  -c Sources/CLinuxShim/LinuxShim.c -o $(FUZZ_DIR)/LinuxShim.o
	@set -e; for h in $(FUZZ_VIRTIO_HARNESSES); do \
	  echo "== building fuzz harness $$h"; \
	  swiftc -O -g -sanitize=fuzzer,address -parse-as-library -module-name VirtioFuzz \
	    -Xcc -ISources/CRingAtomics/include -Xcc -ISources/CLinuxShim/include \
	    -ISources/CRingAtomics/include -ISources/CLinuxShim/include \
	    Sources/Virtio/*.swift Fuzz/FuzzInput.swift Fuzz/FuzzSupport.swift Fuzz/$$h.swift $(FUZZ_DIR)/LinuxShim.o \
	    -o $(FUZZ_DIR)/fuzz-$$h 2>&1 | grep -v "ld.gold: warning" || true; \
	  test -x $(FUZZ_DIR)/fuzz-$$h; \
	done
	@set -e; for h in $(FUZZ_TRACE_HARNESSES); do \
	  echo "== building fuzz harness $$h"; \
	  swiftc -O -g -sanitize=fuzzer,address -parse-as-library -module-name TraceFuzz \
	    -Xcc -ISources/CZstd -ISources/CZstd \
	    -Xcc -ISources/CRingAtomics/include -Xcc -ISources/CLinuxShim/include \
	    -ISources/CRingAtomics/include -ISources/CLinuxShim/include \
	    Sources/Virtio/*.swift Sources/Trace/*.swift Fuzz/FuzzInput.swift Fuzz/$$h.swift $(FUZZ_DIR)/LinuxShim.o $(FUZZ_SYSTEM) -lzstd \
	    -o $(FUZZ_DIR)/fuzz-$$h 2>&1 | grep -v "ld.gold: warning" || true; \
	  test -x $(FUZZ_DIR)/fuzz-$$h; \
	done
	@set -e; for h in $(FUZZ_IMPORT_HARNESSES); do \
	  echo "== building fuzz harness $$h"; \
	  swiftc -O -g -sanitize=fuzzer,address -parse-as-library -module-name ImportFuzz \
	    -Xcc -ISources/CZstd -ISources/CZstd \
	    -Xcc -ISources/CRingAtomics/include -Xcc -ISources/CLinuxShim/include \
	    -ISources/CRingAtomics/include -ISources/CLinuxShim/include \
	    Sources/Virtio/*.swift Sources/Trace/*.swift Sources/Import/*.swift Sources/Import/*/*.swift \
	    Fuzz/FuzzInput.swift Fuzz/$$h.swift $(FUZZ_DIR)/LinuxShim.o $(FUZZ_SYSTEM) -lzstd \
	    -o $(FUZZ_DIR)/fuzz-$$h 2>&1 | grep -v "ld.gold: warning" || true; \
	  test -x $(FUZZ_DIR)/fuzz-$$h; \
	done
	@set -e; for h in $(FUZZ_HARNESSES); do \
	  echo "== fuzzing $$h for $(FUZZ_SECONDS)s"; \
	  mkdir -p $(FUZZ_DIR)/corpus-$$h; \
	  SWIFT_BACKTRACE=enable=no $(FUZZ_DIR)/fuzz-$$h -max_total_time=$(FUZZ_SECONDS) -max_len=8192 \
	    -artifact_prefix=$(FUZZ_DIR)/ -print_final_stats=1 $(FUZZ_DIR)/corpus-$$h $$(test -d Fuzz/seeds/$$h && echo Fuzz/seeds/$$h) 2>&1 \
	    | grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss|==[0-9]+==ERROR|SUMMARY|.*deadly signal|Fuzz harness)" || true; \
	  test $${PIPESTATUS[0]} -eq 0 || { echo "fuzz harness $$h FAILED (artifact in $(FUZZ_DIR)/)"; exit 1; }; \
	done

# The guest test alone, served by the release build (its read IOPS beside qemu-storage-daemon's is
# the figure to quote; TCG makes both slow). Fails, rather than skips, when the guest cannot boot.
guest-test: release
	swift build --build-tests
	guest/build-guest.sh .build-guest
	@set -o pipefail; VQTRACE_BINARY=$(CURDIR)/.build/release/vqtrace swift test --skip-build --filter GuestTests 2>&1 | tee .build/guest-test.log; \
	grep -q "passed after" .build/guest-test.log && ! grep -q "skipped" .build/guest-test.log

clean:
	rm -rf .build $(FUZZ_DIR) .build-guest Examples/ReplayTrace/.build
