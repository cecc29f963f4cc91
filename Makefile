# airguard - top-level build.
#
#   make            build everything (release flags) into build/
#   make test       install missing Debian packages, build with ASan+UBSan, run all tests
#   make run        install missing packages, build the services and the CLI (nothing
#                   else), start the embedded PostgreSQL (unless AIRGUARD_DATABASE_URL
#                   is set) and every service, in the foreground, restarting any that dies
#   make bins       the services and tools only (what make run runs)
#   make bench      benchmarks (not part of make test)
#   make lint       clang-format check and cppcheck
#   make fuzz       every libFuzzer harness for FUZZ_SECONDS (default 60) each
#
# Three build trees share these rules: build/ (optimised), build/san/
# (AddressSanitizer + UndefinedBehaviorSanitizer, what the tests run) and
# build/fuzz/ (clang, libFuzzer + ASan + UBSan: only the tests/fuzz harnesses).

SHELL      := /bin/bash
CC         ?= cc
MODE       ?= release
PKGS       := libzmq msgpack libpq yaml-0.1 libsodium
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

# -Wno-format-truncation: messages are truncated to fixed buffers on purpose.
WARN       := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra -Werror \
              -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla -Wno-format-truncation
ifeq ($(MODE),fuzz)
  CC       := clang
  B        := build/fuzz
  OPT      := -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
              -fno-sanitize-recover=undefined -Wno-unknown-warning-option
  LDOPT    := -fsanitize=fuzzer,address,undefined
else ifeq ($(MODE),san)
  B        := build/san
  OPT      := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
  LDOPT    := -fsanitize=address,undefined
else
  B        := build
  OPT      := -O2 -g
  LDOPT    :=
endif
CFLAGS_ALL := $(WARN) $(OPT) -Iinclude -Itools/cli -Itests $(PKG_CFLAGS) -MMD -MP
LDLIBS_ALL := $(PKG_LIBS) -lm

COMMON_SRC := $(wildcard common/*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(B)/obj/%.o) $(B)/obj/gen/stream_migrations.o
SERVICES   := $(notdir $(wildcard services/*))
# Each service: main.c wires it up; every other .c is domain logic that unit
# tests link against; sql/NNN_*.sql are its migrations, embedded in the binary.
svc_src     = $(filter-out services/$(1)/main.c,$(wildcard services/$(1)/*.c))
svc_objs    = $(patsubst %.c,$(B)/obj/%.o,$(call svc_src,$(1)))
SVC_LIBS   := $(foreach s,$(SERVICES),$(B)/lib/libsvc_$(s).a)
SVC_BINS   := $(foreach s,$(SERVICES),$(B)/bin/airguard-$(s))
TOOL_BINS  := $(patsubst tools/%.c,$(B)/bin/%,$(filter-out tools/embed.c,$(wildcard tools/*.c)))
# The CLI's subcommands (tools/cli/cli_*.c), linked into build/bin/airguard
# and into the unit tests.
CLI_OBJ    := $(patsubst %.c,$(B)/obj/%.o,$(wildcard tools/cli/*.c))
UNIT_BINS  := $(patsubst tests/unit/%.c,$(B)/tests/%,$(wildcard tests/unit/test_*.c))
STREAM_BINS:= $(patsubst tests/stream/%.c,$(B)/tests/%,$(wildcard tests/stream/*.c))
BENCH_BINS := $(patsubst tests/bench/%.c,$(B)/tests/%,$(wildcard tests/bench/*.c))
FUZZ_BINS  := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 60

.PHONY: all bins deps test unit run bench lint format clean san fuzz fuzz-build
.DEFAULT_GOAL := all
# Keep generated sources and service archives between runs.
.SECONDARY:
.SECONDEXPANSION:

# The fuzz tree holds the harnesses only: libFuzzer brings its own main().
ifeq ($(MODE),fuzz)
all: fuzz-build
else
all: bins $(UNIT_BINS) $(STREAM_BINS) $(BENCH_BINS)
endif

bins: $(SVC_BINS) $(TOOL_BINS)

deps:
	@tools/deps.sh

# The tests always run the sanitizer build.
test: deps
	@$(MAKE) --no-print-directory MODE=san all
	@$(MAKE) --no-print-directory MODE=fuzz fuzz-build
	@tests/run.sh build/san

unit: deps
	@$(MAKE) --no-print-directory MODE=san all
	@tests/run.sh build/san unit

run: deps
	@$(MAKE) --no-print-directory MODE=release bins
	@tools/run.sh build

bench: deps
	@$(MAKE) --no-print-directory MODE=release all
	@tests/bench/run.sh build

# libFuzzer harnesses (tests/fuzz): make test runs each a few seconds plus
# every kept regression input; make fuzz runs each for FUZZ_SECONDS.
fuzz-build: $(FUZZ_BINS)

fuzz: deps
	@$(MAKE) --no-print-directory MODE=fuzz fuzz-build
	@tests/fuzz/run.sh build/fuzz $(FUZZ_SECONDS)

lint:
	@clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')
	@cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --inline-suppr --suppress=missingIncludeSystem -Iinclude common services tools tests

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "CC $<"
	@$(CC) $(CFLAGS_ALL) -c $< -o $@

$(B)/lib/libcommon.a: $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	@rm -f $@ && ar rcs $@ $^

# The migration embedder runs at build time, never sanitised.
build/host/embed: tools/embed.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O1 -Wall -Wextra -Werror $< -o $@

$(B)/gen/stream_migrations.c: build/host/embed $(wildcard common/sql/*.sql)
	@mkdir -p $(dir $@)
	@build/host/embed stream $@ $(sort $(wildcard common/sql/*.sql))

$(B)/gen/%_migrations.c: build/host/embed $$(wildcard services/%/sql/*.sql)
	@mkdir -p $(dir $@)
	@build/host/embed $* $@ $(sort $(wildcard services/$*/sql/*.sql))

$(B)/obj/gen/%_migrations.o: $(B)/gen/%_migrations.c
	@mkdir -p $(dir $@)
	@$(CC) $(CFLAGS_ALL) -c $< -o $@

$(B)/lib/libsvc_%.a: $$(call svc_objs,$$*) $(B)/obj/gen/%_migrations.o
	@mkdir -p $(dir $@)
	@rm -f $@ && ar rcs $@ $^

$(B)/bin/airguard-%: $(B)/obj/services/%/main.o $(B)/lib/libsvc_%.a $(B)/lib/libcommon.a
	@mkdir -p $(dir $@)
	@echo "LD $@"
	@$(CC) $(LDOPT) $^ $(LDLIBS_ALL) -o $@

$(B)/lib/libcli.a: $(CLI_OBJ)
	@mkdir -p $(dir $@)
	@rm -f $@ && ar rcs $@ $^

$(B)/bin/airguard: $(B)/obj/tools/airguard.o $(B)/lib/libcli.a $(SVC_LIBS) $(B)/lib/libcommon.a
	@mkdir -p $(dir $@)
	@echo "LD $@"
	@$(CC) $(LDOPT) $^ $(LDLIBS_ALL) -o $@

$(B)/bin/%: $(B)/obj/tools/%.o $(SVC_LIBS) $(B)/lib/libcommon.a
	@mkdir -p $(dir $@)
	@echo "LD $@"
	@$(CC) $(LDOPT) $< $(SVC_LIBS) $(B)/lib/libcommon.a $(LDLIBS_ALL) -o $@

$(B)/tests/%: $(B)/obj/tests/unit/%.o $(B)/lib/libcli.a $(SVC_LIBS) $(B)/lib/libcommon.a
	@mkdir -p $(dir $@)
	@echo "LD $@"
	@$(CC) $(LDOPT) $< $(B)/lib/libcli.a $(SVC_LIBS) $(B)/lib/libcommon.a $(LDLIBS_ALL) -o $@

$(B)/tests/%: $(B)/obj/tests/stream/%.o $(B)/lib/libcommon.a
	@mkdir -p $(dir $@)
	@echo "LD $@"
	@$(CC) $(LDOPT) $^ $(LDLIBS_ALL) -o $@

$(B)/tests/%: $(B)/obj/tests/bench/%.o $(SVC_LIBS) $(B)/lib/libcommon.a
	@mkdir -p $(dir $@)
	@echo "LD $@"
	@$(CC) $(LDOPT) $< $(SVC_LIBS) $(B)/lib/libcommon.a $(LDLIBS_ALL) -o $@

$(B)/fuzz_%: $(B)/obj/tests/fuzz/fuzz_%.o $(SVC_LIBS) $(B)/lib/libcommon.a
	@mkdir -p $(dir $@)
	@echo "LD $@"
	@$(CC) $(LDOPT) $< $(SVC_LIBS) $(B)/lib/libcommon.a $(LDLIBS_ALL) -o $@

-include $(shell find build -name '*.d' 2>/dev/null)

# The docker-compose stack, built and tested for real on this machine (as
# root: it may install docker.io, start dockerd and debootstrap the base
# image); see deploy/compose-test.sh and docs/deploy.md.
.PHONY: compose-test
compose-test:
	@deploy/compose-test.sh
