# Quick start (Debian 12):  make run   |   make test
# Everything is built by CMake; this file only chains install, configure, build and run.
BUILD      ?= build
TESTBUILD  ?= build-test
JOBS       ?= $(shell nproc)
CONF       ?= etc/mixgate.conf

.PHONY: all deps deps-test build build-all run test bench fuzz fuzz-campaign deb clean

all: build

deps:
	bash scripts/install-deps.sh

deps-test:
	bash scripts/install-deps.sh --test

# The daemon and the admin tool (what `make run` needs); `make build-all` builds every target.
build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMIXGATE_E2E=OFF >/dev/null
	cmake --build $(BUILD) -j $(JOBS) --target mixgated mixgate

build-all: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMIXGATE_E2E=OFF >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

# Builds and runs the switch in the foreground on the built-in default configuration.
# As root with no global.user in CONF (the default configuration), -R keeps it running as root:
# a development run in a checkout other users may not be able to reach.
run: build
	$(BUILD)/daemon/mixgated -c $(CONF) $(if $(filter 0,$(shell id -u)),-R)

# The whole suite (unit, e2e, fuzz corpora), built with AddressSanitizer + UBSan.
test: deps-test
	cmake -S . -B $(TESTBUILD) -DCMAKE_BUILD_TYPE=Debug -DMIXGATE_SANITIZE=ON -DMIXGATE_STRICT=ON -DMIXGATE_WERROR=ON >/dev/null
	cmake --build $(TESTBUILD) -j $(JOBS)
	cd $(TESTBUILD) && ctest --output-on-failure -j $(JOBS) --timeout 600

bench: deps-test build
	bash bench/run-all

# libFuzzer binaries for campaigns (opt-in): build-fuzz/fuzz/fuzz_<name> CORPUS_DIR
fuzz: deps
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DMIXGATE_SANITIZE=ON -DMIXGATE_LIBFUZZER=ON -DMIXGATE_E2E=OFF >/dev/null
	cmake --build build-fuzz -j $(JOBS)

# A campaign (opt-in): every target in turn for SECONDS, new units merged and minimised into
# fuzz/corpus/, then per target executions, exec/s, cov/ft, crashes and the line coverage of
# the parser's files (llvm-cov replay). TARGETS=a,b runs a subset; RUNS=N stops a target at N
# executions, DEADLINE=HH:MM (UTC) shares the time left, ORDER=speed runs the fastest first.
# See docs/fuzzing.md.
SECONDS ?= 10
TARGETS ?=
fuzz-campaign:
	bash scripts/install-deps.sh --fuzz
	python3 fuzz/campaign.py --seconds $(SECONDS) --jobs $(JOBS) $(if $(TARGETS),--targets $(TARGETS)) \
	  $(if $(RUNS),--runs $(RUNS)) $(if $(DEADLINE),--deadline $(DEADLINE)) $(if $(ORDER),--order $(ORDER)) \
	  $(if $(PARALLEL),--parallel $(PARALLEL))

# The Debian package, built with Debian's hardening flags: build-deb/mixgate_*.deb
deb: deps
	CFLAGS="$$(dpkg-buildflags --get CFLAGS) $$(dpkg-buildflags --get CPPFLAGS)" LDFLAGS="$$(dpkg-buildflags --get LDFLAGS)" \
	  cmake -S . -B build-deb -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr -DMIXGATE_E2E=OFF \
	  -DMIXGATE_SKIP="tests;fuzz;bench" >/dev/null
	cmake --build build-deb -j $(JOBS)
	cd build-deb && cpack -G DEB

clean:
	rm -rf $(BUILD) $(TESTBUILD) build-fuzz build-fuzz-cov build-deb
