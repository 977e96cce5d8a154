# medcrypt: `make run` and `make test` do all set-up on a fresh Debian 12.
# The real build is meson + ninja; this file only drives it.

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
TSAN_BUILD ?= build-tsan
DEBUG_BUILD ?= build-debug
CLANG_BUILD ?= build-clang
FUZZ_SECONDS ?= 600
MESON      ?= meson

.PHONY: all deps deps-build build build-asan build-fuzz build-tsan build-debug build-clang fuzz test test-unit test-asan run demo screenshots clean

all: build

# Everything (tests, fuzzing, the browser test), or only what building
# needs: `make build` and `make run` alone install no test tool, browser
# or nginx (a machine that builds or serves medcrypt needs none of them:
# docs/DEPLOY.md); a goal that tests installs everything first.
deps:
	@sh scripts/deps.sh
deps-build:
	@sh scripts/deps.sh --build
TEST_GOALS := test test-unit test-asan build-asan build-fuzz build-tsan build-debug build-clang fuzz \
    screenshots
BUILD_DEPS := $(if $(filter $(TEST_GOALS),$(MAKECMDGOALS)),deps,deps-build)

$(BUILD)/build.ninja:
	$(MESON) setup $(BUILD) --buildtype=release

# A build dir configured before cmocka was installed (make run, then
# make test) is configured again, so that its unit tests are built.
build: $(BUILD_DEPS) $(BUILD)/build.ninja
	@if grep -q 'cmocka not found' $(BUILD)/meson-logs/meson-log.txt 2>/dev/null && \
	    pkg-config --exists cmocka; then $(MESON) setup --reconfigure $(BUILD); fi
	ninja -C $(BUILD)

$(ASAN_BUILD)/build.ninja:
	$(MESON) setup $(ASAN_BUILD) --buildtype=debugoptimized \
	    -Db_sanitize=address,undefined -Db_lundef=false

build-asan: deps $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)

# The libFuzzer targets of fuzz/ (clang; library and targets under ASan +
# UBSan, with coverage for libFuzzer). Built with libsodium's SHA-512 and
# ChaCha20 instead of OpenSSL's linked in (-Dopenssl_linked=disabled), so
# that CI compiles and runs that configuration too: the same bytes.
$(FUZZ_BUILD)/build.ninja:
	CC=clang $(MESON) setup $(FUZZ_BUILD) -Dfuzz=true --buildtype=debugoptimized \
	    -Db_sanitize=address,undefined -Db_lundef=false -Dopenssl_linked=disabled

build-fuzz: deps $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD)

# ThreadSanitizer: `make test` runs the suites that run threads in it
# (suite tsan of tests/meson.build).
$(TSAN_BUILD)/build.ninja:
	$(MESON) setup $(TSAN_BUILD) --buildtype=debugoptimized -Db_sanitize=thread -Db_lundef=false

build-tsan: deps $(TSAN_BUILD)/build.ninja
	ninja -C $(TSAN_BUILD)

# Unoptimised (-O0, --buildtype=debug), as a developer or an IDE may
# configure it (this project's default is release): `make test` builds
# all of it (-Werror finds other things at -O0: GCC's uninitialised-read
# and truncation warnings) and runs its unit tests (suite unit), whose
# stack searches see the -O0 frames.
$(DEBUG_BUILD)/build.ninja:
	$(MESON) setup $(DEBUG_BUILD) --buildtype=debug

build-debug: deps $(DEBUG_BUILD)/build.ninja
	ninja -C $(DEBUG_BUILD)

# Optimised by clang instead of GCC (clang comes with the fuzzing tools):
# `make test` runs its unit tests, so the golden vectors show that
# another compiler's optimiser and vectoriser give the chaotic maps the
# same bits (-ffp-contract=off, meson.build), and clang's warnings
# (-Wsometimes-uninitialized and others GCC lacks) fail the build under
# -Werror. The fuzz build is clang too, but builds no unit or shell tests.
$(CLANG_BUILD)/build.ninja:
	CC=clang $(MESON) setup $(CLANG_BUILD) --buildtype=release

build-clang: deps $(CLANG_BUILD)/build.ninja
	ninja -C $(CLANG_BUILD)

# Each fuzz target for FUZZ_SECONDS (make fuzz FUZZ_SECONDS=60 TARGETS="dicom png").
fuzz: build-fuzz
	sh scripts/fuzz.sh -b $(FUZZ_BUILD) $(FUZZ_SECONDS) $(TARGETS)

# The whole suite in a release build, then in ASan + UBSan, then in the
# fuzz build (clang, ASan + UBSan, libsodium's SHA-512 and ChaCha20),
# which adds a replay of the seeds and fuzz/regressions/ and a 10 s smoke
# run of each fuzz target; the TSan build runs the suites that run
# threads (DIR:SUITE), the unoptimised build and the clang build the unit
# tests. The last line is the summary: "N passed, N failed".
test: build build-asan build-fuzz build-tsan build-debug build-clang
	@sh scripts/test.sh $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(TSAN_BUILD):tsan \
	    $(DEBUG_BUILD):unit $(CLANG_BUILD):unit

test-unit: build
	$(MESON) test -C $(BUILD) --print-errorlogs

# The web application on http://127.0.0.1:8080/ (Ctrl-C stops it);
# LISTEN=0.0.0.0:8080 to reach it from other machines (see docs/DEPLOY.md).
LISTEN ?= 127.0.0.1:8080
run: build
	@echo "medcrypt: starting the web application; open the URL below (Ctrl-C to stop)"
	@exec $(BUILD)/cli/medcrypt serve --listen $(LISTEN)

# The command-line demo on a real CT image (keygen, encrypt, decrypt, verify).
demo: build
	@sh scripts/demo.sh $(BUILD)

# Re-takes docs/screenshots/*.png with the browser end-to-end test.
screenshots: build
	sh tests/e2e/run.sh $(CURDIR)/$(BUILD)/cli/medcrypt $(or $(MC_TESTDATA),$(CURDIR)/../shared/testdata) \
	    $(CURDIR)/docs/screenshots

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(TSAN_BUILD) $(DEBUG_BUILD) $(CLANG_BUILD)
