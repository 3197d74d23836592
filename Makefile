# lsp — build, test, demo.  See README.md.
#
#   make              build every bin/lsp-* (and web/vendor)
#   make check        build and run the whole test suite
#   make check SANITIZE=1   the same under ASan + UBSan
#   make deps         install the Debian packages the build and tests need
#   make demo         install, build, and run the platform with a test-pattern publisher
#   make fuzz         build the libFuzzer harnesses (clang)
#   make install      binaries, scripts, man pages, web files under
#                     $(DESTDIR)$(PREFIX) (PREFIX default /opt/lsp); systemd
#                     units, sysusers and tmpfiles where systemd finds them
#   make lint         cppcheck and clang-tidy over lib/ and bin/
#   make layers       the include, network-layer and file-size rules of lib/
#   make openapi      docs/openapi.json against OpenAPI 3.0 (strict)

VERSION   := 0.1.0
CC        ?= cc
PKGS      := libavformat libavcodec libavutil libswscale libswresample srt openssl libcurl \
             hiredis libnats sqlite3 libpq jansson libnghttp2
CSTD      := -std=c17 -D_GNU_SOURCE
WARN      := -Wall -Wextra -Werror -Wno-unused-parameter
OPT       ?= -O2 -g
SANITIZE  ?=
PG_INC    := -I$(shell pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(filter-out -lsrt,$(shell pkg-config --libs $(PKGS) 2>/dev/null))
# libsrt goes only where lib/srtin is linked (lsp-ingest and its tests), and
# it is the libsrt libavformat already loads (Debian: libsrt-gnutls), so a
# process holds one copy of libsrt and runs its exit-time clean-up once.
SRT_AV     := $(shell readelf -d $(shell pkg-config --variable=libdir libavformat 2>/dev/null)/libavformat.so \
                2>/dev/null | sed -n 's/.*NEEDED.*\[\(libsrt[^]]*\)\].*/\1/p')
SRT_LIBS   := $(if $(SRT_AV),-l:$(SRT_AV),-lsrt)

ifeq ($(SANITIZE),1)
  VARIANT := asan
  SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
  VARIANT := rel
  SANFLAGS :=
endif

BUILD     := build/$(VARIANT)
CFLAGS_ALL := $(CSTD) $(WARN) $(OPT) $(SANFLAGS) -Ilib $(PKG_CFLAGS) $(PG_INC) \
              -DLSP_VERSION='"$(VERSION)"' $(CFLAGS)
# --as-needed: each binary records only the libraries it calls (lsp-edge, for
# one, links no libav*: readelf -d shows its set).
LDLIBS_ALL := -Wl,--as-needed $(PKG_LIBS) -lm -lpthread $(LDLIBS)

LIB_SRC   := $(wildcard lib/*/*.c)
LIB_OBJ   := $(LIB_SRC:lib/%.c=$(BUILD)/lib/%.o)
BIN_SRC   := $(wildcard bin/lsp-*.c)
BINS      := $(BIN_SRC:.c=)
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNITS     := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)

.PHONY: all check deps demo fuzz clean web units install lint lint-cppcheck lint-tidy layers openapi
all: $(BINS) web

# Binaries live beside their sources (bin/lsp-x from bin/lsp-x.c); a variant
# stamp makes a switch between SANITIZE=0/1 relink them.
$(BUILD)/.stamp:
	@mkdir -p $(@D) && rm -f build/*/.stamp && touch $@

# -MMD -MP: each object depends on the headers it includes (build/*/…/*.d).
$(BUILD)/lib/%.o: lib/%.c Makefile
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c -o $@ $<

$(BUILD)/liblsp.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

bin/lsp-%: bin/lsp-%.c $(BUILD)/liblsp.a $(BUILD)/.stamp
	@mkdir -p $(BUILD)/deps
	$(CC) $(CFLAGS_ALL) -MMD -MP -MF $(BUILD)/deps/lsp-$*.d -o $@ $< $(BUILD)/liblsp.a $(LDLIBS_ALL)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/liblsp.a
	@mkdir -p $(@D) $(BUILD)/deps
	$(CC) $(CFLAGS_ALL) -MMD -MP -MF $(BUILD)/deps/$*.d -o $@ $< $(BUILD)/liblsp.a $(LDLIBS_ALL) -lcmocka

units: $(UNITS)

-include $(LIB_OBJ:.o=.d) $(wildcard $(BUILD)/deps/*.d)

bin/lsp-ingest $(BUILD)/tests/test_srtin $(BUILD)/tests/test_ingestsrv build/fuzz/fuzz_streamid: \
  LDLIBS_ALL += $(SRT_LIBS)
# SRTP is lib/rtc/srtp (OpenSSL); Debian's libsrtp2 is linked only by the
# test that checks both interoperate.
$(BUILD)/tests/test_srtp: LDLIBS_ALL += $(shell pkg-config --libs libsrtp2 2>/dev/null || echo -lsrtp2)

# hls.js for the watch page comes from npm at build time; it is not committed.
web: web/vendor/hls.min.js
web/vendor/hls.min.js: web/package.json
	@if command -v npm >/dev/null; then \
	  cd web && npm install --no-audit --no-fund --silent >/dev/null && \
	  mkdir -p vendor && cp node_modules/hls.js/dist/hls.min.js vendor/hls.min.js; \
	else echo "make: npm not found; run 'make deps' for the watch page player" >&2; fi

# Static analysis reads the sources, not a build: the sanitizer pass skips it.
# The build uses every CPU even under a plain "make check" (an explicit -jN
# is kept); lint (release only) runs inside tests/run, at nice 19 beside the
# tests that share the machine, and counts as one of its tests.
CHECK_JOBS = $(if $(findstring -j,$(MAKEFLAGS)),,-j$(shell nproc 2>/dev/null || echo 2))
check:
	$(MAKE) --no-print-directory $(CHECK_JOBS) all units
	tests/tools/layers.sh
	tests/tools/openapi-check.py docs/openapi.json
	tests/tools/event-names.py
	BUILD=$(BUILD) SANITIZE=$(SANITIZE) \
	  $(if $(SANITIZE),,LSP_TEST_LINT='$(MAKE) --no-print-directory lint') tests/run

# libFuzzer harnesses: lib/ compiled once with fuzzer-no-link instrumentation
# into an archive, each harness links only what it uses from it.
# (tests/integ/fuzz.sh builds the same way and runs each for a bounded time.)
FUZZ_CFLAGS := -std=c17 -D_GNU_SOURCE -g -O1 -fsanitize=address,undefined -Ilib \
               -DLSP_VERSION='"$(VERSION)"' $(PKG_CFLAGS) $(PG_INC)
FUZZ_OBJ := $(LIB_SRC:lib/%.c=build/fuzz/lib/%.o)
build/fuzz/lib/%.o: lib/%.c $(wildcard lib/*/*.h)
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<
build/fuzz/liblsp.a: $(FUZZ_OBJ)
	rm -f $@ && ar rcs $@ $^
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c build/fuzz/liblsp.a
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< build/fuzz/liblsp.a $(LDLIBS_ALL)
fuzz: $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)

# Install tree (the units get PREFIX written into their /opt/lsp paths):
#   $(PREFIX)/bin            lsp-* tools, lsp-channel, lsp-channel-run, lsp-up, lsp-demo
#   $(PREFIX)/share/man/manN pages;  $(PREFIX)/share/lsp/web  the web pages
#   $(UNITDIR)               systemd units
#   $(SYSUSERSDIR)/lsp.conf  the lsp user;  $(TMPFILESDIR)/lsp.conf  its directories
# The systemd files go where systemd looks for them: under $(PREFIX)/lib
# when PREFIX is /usr or /usr/local (both are on systemd's search paths),
# else under $(SYSCONFDIR) (/etc/systemd/system, /etc/sysusers.d,
# /etc/tmpfiles.d).  After a real install:
#   systemd-sysusers && systemd-tmpfiles --create && systemctl daemon-reload
SYSCONFDIR  ?= /etc
PREFIX      ?= /opt/lsp
SDLIBDIR    := $(if $(filter /usr /usr/local,$(PREFIX)),$(PREFIX)/lib,)
UNITDIR     ?= $(if $(SDLIBDIR),$(SDLIBDIR)/systemd/system,$(SYSCONFDIR)/systemd/system)
SYSUSERSDIR ?= $(if $(SDLIBDIR),$(SDLIBDIR)/sysusers.d,$(SYSCONFDIR)/sysusers.d)
TMPFILESDIR ?= $(if $(SDLIBDIR),$(SDLIBDIR)/tmpfiles.d,$(SYSCONFDIR)/tmpfiles.d)
INSTALL     ?= install
SCRIPTS     := scripts/lsp-channel scripts/lsp-channel-run scripts/lsp-up scripts/lsp-demo
WEB_FILES   := $(filter-out web/node_modules web/package.json web/package-lock.json,$(wildcard web/*))
install: all
	$(INSTALL) -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/lsp/web \
	  $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5 \
	  $(DESTDIR)$(PREFIX)/share/man/man7 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) \
	  $(DESTDIR)$(TMPFILESDIR)
	$(INSTALL) -m 0755 $(BINS) $(SCRIPTS) $(DESTDIR)$(PREFIX)/bin/
	$(INSTALL) -m 0644 $(wildcard man/*.1) $(DESTDIR)$(PREFIX)/share/man/man1/
	$(INSTALL) -m 0644 $(wildcard man/*.5) $(DESTDIR)$(PREFIX)/share/man/man5/
	$(INSTALL) -m 0644 $(wildcard man/*.7) $(DESTDIR)$(PREFIX)/share/man/man7/
	cp -R $(WEB_FILES) $(DESTDIR)$(PREFIX)/share/lsp/web/
	for u in systemd/*.service systemd/*.target systemd/*.timer; do \
	  sed -e 's#/opt/lsp/#$(PREFIX)/#g' $$u \
	    >$(DESTDIR)$(UNITDIR)/$${u#systemd/} && chmod 0644 $(DESTDIR)$(UNITDIR)/$${u#systemd/} || exit 1; \
	done
	$(INSTALL) -m 0644 systemd/lsp.sysusers.conf $(DESTDIR)$(SYSUSERSDIR)/lsp.conf
	$(INSTALL) -m 0644 systemd/lsp.tmpfiles.conf $(DESTDIR)$(TMPFILESDIR)/lsp.conf

# Static analysis of lib/ and bin/, a gate of make check: cppcheck and
# clang-tidy (each runs even when the other fails; any finding fails; the checks
# chosen and why are in .clang-tidy).  clang-tidy gets the compile flags the
# build uses and runs two files at a time; TIDY_SRC=lib/x.c narrows a run.
CPPCHECK_FLAGS := --quiet --error-exitcode=1 --std=c11 --inline-suppr \
  --enable=warning,portability --suppress=missingIncludeSystem --suppress=varFuncNullUB \
  -D_GNU_SOURCE -DLSP_VERSION='"$(VERSION)"' -Ilib
CLANG_TIDY ?= clang-tidy
TIDY_SRC   ?= $(LIB_SRC) $(BIN_SRC)
TIDY_FLAGS := $(CSTD) $(WARN) -Ilib $(PKG_CFLAGS) $(PG_INC) -DLSP_VERSION='"$(VERSION)"'
lint:
	@rc=0; $(MAKE) --no-print-directory lint-cppcheck || rc=1; \
	$(MAKE) --no-print-directory lint-tidy || rc=1; exit $$rc
lint-cppcheck:
	cppcheck $(CPPCHECK_FLAGS) -j2 lib bin
lint-tidy:
	@echo "clang-tidy: $(words $(TIDY_SRC)) files"
	@e=$$(mktemp) && rc=0 && \
	{ printf '%s\n' $(TIDY_SRC) | xargs -P2 -I{} $(CLANG_TIDY) --quiet {} -- $(TIDY_FLAGS) 2>$$e || rc=1; } && \
	{ grep -vE '^[0-9]+ .*(generated|treated as errors?)\.$$' $$e >&2; rm -f $$e; } ; \
	[ $$rc = 0 ] || { echo "make: clang-tidy found problems (above); the checks and why: .clang-tidy" >&2; exit 1; }

# docs/openapi.json against OpenAPI 3.0, strictly (a gate of make check;
# tests/tools/openapi-check.py says what it checks).
openapi:
	tests/tools/openapi-check.py docs/openapi.json

# The house rules of lib/ (folders, includes, one network layer, file
# sizes, link sets): a gate of make check.  See tests/tools/layers.sh.
layers: all
	tests/tools/layers.sh

deps:
	scripts/install-deps

demo:
	scripts/install-deps
	$(MAKE) all
	scripts/lsp-demo

clean:
	rm -rf build $(BINS) web/vendor web/node_modules
