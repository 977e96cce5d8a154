# medcrypt: `make run` and `make test` do all set-up on a fresh Debian 12.
# The real build is meson + ninja; this file only drives it.

BUILD      ?= build
ASAN_BUILD ?= build-asan
MESON      ?= meson

.PHONY: all deps build build-asan test test-unit test-asan run demo screenshots clean

all: build

deps:
	@sh scripts/deps.sh

$(BUILD)/build.ninja:
	$(MESON) setup $(BUILD) --buildtype=release

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(ASAN_BUILD)/build.ninja:
	$(MESON) setup $(ASAN_BUILD) --buildtype=debugoptimized \
	    -Db_sanitize=address,undefined -Db_lundef=false

build-asan: deps $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)

# The whole suite twice: a release build, then ASan + UBSan. The last line
# is the summary: "N passed, N failed".
test: build build-asan
	@sh scripts/test.sh $(BUILD) $(ASAN_BUILD)

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
	sh tests/e2e/run.sh $(CURDIR)/$(BUILD)/cli/medcrypt $(CURDIR)/../shared/testdata \
	    $(CURDIR)/docs/screenshots

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
