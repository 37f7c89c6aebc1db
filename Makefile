# Makefile - meldnet: one non-recursive build for the library, daemons, tools and tests.
#
#   make            build everything into $(BUILD)/ (installs missing Debian packages first
#                   when run as root; otherwise prints the apt-get line to run)
#   make check      run the unit and integration tests; ends with "N passed, N failed"
#   make demo       gateway + agents on loopback with fresh keys, submits examples/
#   make asan       the tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   make valgrind   the unit tests under valgrind memcheck
#   make torture    SIGKILL the gateway 30+ times under load; nothing lost, nothing twice
#   make fuzz       the libFuzzer targets, FUZZ_SECONDS each (clang; docs/FUZZING.md)
#   make bench      the real programs under load; a results table (docs/PERFORMANCE.md)
#   make format     lay the sources out as .clang-format says; make format-check checks it
#   make deps       install (root) or print the missing Debian packages
#   make install    PREFIX=/usr/local DESTDIR=
#   make clean
#
# CC=clang works as well as gcc.

BUILD   ?= build
PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc

PKGS      := libzmq libsodium lmdb libprotobuf-c jansson libconfig libmicrohttpd
# Only meldnetctl's live view (ctl_watch) uses the terminal library: its cflags define feature
# macros the rest of the tree sets itself.
TUI_PKGS  := ncursesw
TEST_PKGS := cmocka

# Recursive (=) so pkg-config runs after the deps stamp has installed it on a fresh machine.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS)) -lpthread
TEST_CFLAGS_PKG = $(shell pkg-config --cflags $(TEST_PKGS))
TUI_LIBS   = $(shell pkg-config --libs $(TUI_PKGS))
TEST_LIBS_PKG   = $(shell pkg-config --libs $(TEST_PKGS))

WARN     := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes
CSTD     := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
OPT      ?= -O2 -g -gdwarf-4
SAN      ?=
HARDEN   := -fstack-protector-strong
GEN      := $(BUILD)/gen
# Include floors: each directory sees its own headers and the floors below it, so an #include
# that points up a floor (proto/ reaching gateway/ or agents/, agents/ reaching gateway/) fails
# to compile. INC is set per object directory below ("--- objects").
INC_PROTO := -Iproto -I$(GEN)
CFLAGS_ALL = $(CSTD) $(OPT) $(WARN) $(HARDEN) $(SAN) $(INC) $(PKG_CFLAGS) $(CFLAGS)
LDFLAGS_ALL = $(SAN) $(LDFLAGS)

DEPS_STAMP := $(BUILD)/.deps-ok

# --- sources -------------------------------------------------------------------------------
PROTO_SRC := $(wildcard proto/mn_*.c)
PROTO_OBJ := $(PROTO_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/meldnet.pb-c.o
LIBMN     := $(BUILD)/libmeldnet.a

GW_LIB_SRC := $(filter-out gateway/main.c gateway/ctl.c,$(wildcard gateway/gw_*.c))
CTL_SRC    := $(wildcard gateway/ctl_*.c)
CTL_OBJ    := $(CTL_SRC:%.c=$(BUILD)/%.o)
GW_LIB_OBJ := $(GW_LIB_SRC:%.c=$(BUILD)/%.o)
AG_LIB_SRC := $(wildcard agents/agent_*.c)
AG_LIB_OBJ := $(AG_LIB_SRC:%.c=$(BUILD)/%.o)
PT_LIB_SRC := $(filter-out agents/partner_main.c,$(wildcard agents/partner_*.c))
PT_LIB_OBJ := $(PT_LIB_SRC:%.c=$(BUILD)/%.o)

BIN := $(BUILD)/bin
PROGRAMS := $(BIN)/meldnet-gateway $(BIN)/meldnetctl $(BIN)/meldnet-agent $(BIN)/meldnet-partner
TEST_TOOLS := $(patsubst tests/tools/%.c,$(BIN)/%,$(wildcard tests/tools/*.c))
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))

.PHONY: all check demo asan valgrind deps install clean test-bins
.DEFAULT_GOAL := all
# Keep objects that only pattern chains name (test tools, unit tests): no rebuilds, no rm noise.
.SECONDARY:

all: $(PROGRAMS)

test-bins: $(PROGRAMS) $(TEST_TOOLS) $(UNIT_TESTS)

$(DEPS_STAMP): scripts/deps.sh
	@scripts/deps.sh --ensure
	@mkdir -p $(@D) && touch $@

$(BUILD)/.check-deps-ok: scripts/deps.sh
	@scripts/deps.sh --check
	@mkdir -p $(@D) && touch $@

deps:
	@scripts/deps.sh --install-or-print

# --- generated protobuf-c code -------------------------------------------------------------
$(GEN)/meldnet.pb-c.c $(GEN)/meldnet.pb-c.h: proto/meldnet.proto | $(DEPS_STAMP)
	@mkdir -p $(GEN)
	protoc-c --proto_path=proto --c_out=$(GEN) proto/meldnet.proto

# Generated code is built, not edited; it does not pass our -Wextra set, so fewer warnings.
$(BUILD)/gen/meldnet.pb-c.o: $(GEN)/meldnet.pb-c.c
	$(CC) $(CSTD) $(OPT) $(SAN) -Wall -Werror -I$(GEN) $(PKG_CFLAGS) -c $< -o $@

# --- objects -------------------------------------------------------------------------------
# The floors: proto/ alone; agents/ and gateway/ on proto/, never on each other; the test
# programs see what they test (a unit test what its link rule below links).
$(BUILD)/proto/%.o:                   INC = $(INC_PROTO)
$(BUILD)/agents/%.o:                  INC = $(INC_PROTO) -Iagents
$(BUILD)/gateway/%.o:                 INC = $(INC_PROTO) -Igateway
$(BUILD)/tests/tools/%.o:             INC = $(INC_PROTO)
$(BUILD)/tests/bench/%.o:             INC = $(INC_PROTO)
$(BUILD)/tests/fuzz/%.o:              INC = $(INC_PROTO) -Igateway
$(BUILD)/tests/unit/test_mn_%.o:      INC = $(INC_PROTO)
$(BUILD)/tests/unit/test_gw_%.o:      INC = $(INC_PROTO) -Igateway
$(BUILD)/tests/unit/test_ctl_%.o:     INC = $(INC_PROTO) -Igateway
$(BUILD)/tests/unit/test_agent_%.o:   INC = $(INC_PROTO) -Iagents
$(BUILD)/tests/unit/test_partner_%.o: INC = $(INC_PROTO) -Iagents

$(BUILD)/%.o: %.c $(GEN)/meldnet.pb-c.h | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(LIBMN): $(PROTO_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN)/meldnet-gateway: $(BUILD)/gateway/main.o $(GW_LIB_OBJ) $(LIBMN)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

$(BIN)/meldnetctl: $(BUILD)/gateway/ctl.o $(CTL_OBJ) $(GW_LIB_OBJ) $(LIBMN)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS) $(TUI_LIBS)

$(BIN)/meldnet-agent: $(BUILD)/agents/main.o $(AG_LIB_OBJ) $(LIBMN)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

$(BIN)/meldnet-partner: $(BUILD)/agents/partner_main.o $(PT_LIB_OBJ) $(LIBMN)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

$(BIN)/%: $(BUILD)/tests/tools/%.o $(LIBMN)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

# Unit tests: test_mn_* link the library only; test_gw_* add the gateway modules, test_agent_*
# the agent modules, test_ctl_* meldnetctl's modules too, so a test builds while unrelated
# modules are being changed.
$(BUILD)/tests/unit/%.o: tests/unit/%.c $(GEN)/meldnet.pb-c.h | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(TEST_CFLAGS_PKG) -MMD -MP -c $< -o $@

$(BUILD)/tests/test_mn_%: $(BUILD)/tests/unit/test_mn_%.o $(LIBMN)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS) $(TEST_LIBS_PKG)

$(BUILD)/tests/test_gw_%: $(BUILD)/tests/unit/test_gw_%.o $(GW_LIB_OBJ) $(LIBMN)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS) $(TEST_LIBS_PKG)

$(BUILD)/tests/test_agent_%: $(BUILD)/tests/unit/test_agent_%.o $(AG_LIB_OBJ) $(LIBMN)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS) $(TEST_LIBS_PKG)

$(BUILD)/tests/test_partner_%: $(BUILD)/tests/unit/test_partner_%.o $(PT_LIB_OBJ) $(LIBMN)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS) $(TEST_LIBS_PKG)

# meldnetctl's modules (not ctl.c, which has main) as an archive: a test links only the ones it
# calls, and those they call.
CTL_LIB := $(BUILD)/libctl.a

$(CTL_LIB): $(CTL_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/tests/test_ctl_%: $(BUILD)/tests/unit/test_ctl_%.o $(CTL_LIB) $(GW_LIB_OBJ) $(LIBMN)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS) $(TUI_LIBS) $(TEST_LIBS_PKG)

# --- running -------------------------------------------------------------------------------
check: test-bins $(BUILD)/.check-deps-ok format-check
	@MN_BUILD=$(BUILD) tests/run-tests.sh

demo: $(PROGRAMS)
	@MN_BUILD=$(BUILD) scripts/demo.sh

# A separate build tree, so sanitized and plain objects never mix.
asan:
	@$(MAKE) --no-print-directory BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" check

# The unit tests under valgrind (memcheck): no error, no definite leak.
valgrind: test-bins
	@command -v valgrind >/dev/null || { echo "valgrind: not installed (apt-get install valgrind)"; exit 1; }
	@for t in $(UNIT_TESTS); do \
	    echo "valgrind $$t"; \
	    MN_SRCDIR=. valgrind -q --leak-check=full --errors-for-leak-kinds=definite \
	        --error-exitcode=1 $$t >/dev/null || exit 1; \
	done; echo "valgrind: clean"

# Crash torture: SIGKILL the gateway (TORTURE_KILLS, default 30) under load, then check that
# nothing was lost, duplicated or left undelivered (scripts/torture.sh; docs/OPERATING.md).
.PHONY: torture
torture: $(PROGRAMS) $(BIN)/mn-freeport
	@MN_BIN=$(BIN) scripts/torture.sh

# Layout: .clang-format (clang-format 14, Debian 12's) is the judge. `make format` rewrites the
# sources in place; `make format-check` (part of `make check`) names every line it would change.
FORMAT_SRC := $(wildcard proto/*.[ch] gateway/*.[ch] agents/*.[ch] tests/unit/*.[ch] \
                         tests/tools/*.[ch] tests/bench/*.[ch] tests/fuzz/*.[ch])
.PHONY: format format-check
format:
	@scripts/deps.sh --format
	@clang-format -i $(FORMAT_SRC) && echo "format: $(words $(FORMAT_SRC)) files laid out as .clang-format says"

format-check:
	@scripts/deps.sh --format
	@clang-format --dry-run -Werror $(FORMAT_SRC) || \
	    { echo "format-check: run 'make format' (.clang-format is the judge)"; exit 1; }

install: $(PROGRAMS)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/doc/meldnet/examples
	install -m 0755 $(PROGRAMS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 README.md docs/*.md docs/*.json $(DESTDIR)$(PREFIX)/share/doc/meldnet/
	install -m 0644 examples/*.json examples/gateway.conf $(DESTDIR)$(PREFIX)/share/doc/meldnet/examples/

clean:
	rm -rf build build-asan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# --- fuzzing (tests/fuzz/, docs/FUZZING.md) ------------------------------------------------
# Each tests/fuzz/fuzz_<target>.c is a libFuzzer target. `make check` replays the committed
# corpora tests/fuzz/corpus/<target>/ through $(BUILD)/tests/fuzzreplay_<target> (plain cc, no
# libFuzzer; sanitized under `make asan`). `make fuzz` builds the targets with clang and
# -fsanitize=fuzzer,address,undefined into $(FUZZ_BUILD)/ and runs each for FUZZ_SECONDS;
# only it needs clang (scripts/deps.sh --fuzz).
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(filter-out tests/fuzz/fuzz_common.c,\
                $(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_REPLAY  := $(FUZZ_TARGETS:%=$(BUILD)/tests/fuzzreplay_%)
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)
FUZZ_COMMON  := $(BUILD)/tests/fuzz/fuzz_common.o
# The config target needs the gateway modules; the others only the library.
s_fuzz_objs   = $(BUILD)/tests/fuzz/fuzz_$(1).o $(FUZZ_COMMON) $(if $(filter config,$(1)),$(GW_LIB_OBJ))

.PHONY: fuzz fuzz-bins
test-bins: $(FUZZ_REPLAY)

.SECONDEXPANSION:
$(BUILD)/tests/fuzzreplay_%: $$(call s_fuzz_objs,$$*) $(BUILD)/tests/fuzz/replay.o $(LIBMN)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

# Only inside the sub-make of `make fuzz` (CC=clang, SAN with fuzzer-no-link).
$(BUILD)/fuzz/fuzz_%: $$(call s_fuzz_objs,$$*) $(LIBMN)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS)

fuzz-bins: $(FUZZ_BINS)

fuzz:
	@scripts/deps.sh --fuzz
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang OPT="-O1 -g -fno-omit-frame-pointer" \
	    SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all" fuzz-bins
	@FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh $(FUZZ_TARGETS)

clean: fuzz-clean
.PHONY: fuzz-clean
fuzz-clean:
	rm -rf $(FUZZ_BUILD)

# --- benchmark (tests/bench/, scripts/bench.sh, docs/PERFORMANCE.md) -----------------------
# `make bench` starts the real gateway and partners on loopback with a load generator and
# prints a results table (also written to $(BUILD)/bench/results.txt); about 3 minutes.
# mn-bench is built with the test programs so it stays warning-free.
BENCH_BIN := $(BIN)/mn-bench

$(BENCH_BIN): $(BUILD)/tests/bench/mn-bench.o $(LIBMN)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS) -lm

test-bins: $(BENCH_BIN)

.PHONY: bench
bench: $(PROGRAMS) $(BENCH_BIN) $(BIN)/mn-freeport
	@MN_BIN=$(BIN) MN_BUILD=$(BUILD) scripts/bench.sh
