# Clone: plain make.  Targets: all (build/clone), unit, fuzz, fuzz-replay,
# integration, lint, format, check (lint → unit → fuzz replay → integration).
# Fuzz objects double as the clang -Werror build.
# Every .c under src/ is part of the binary; every tests/unit/test_*.c is
# part of the unit-test binary; every tests/fuzz/fuzz_*.c is a fuzz target.

CC      ?= gcc
CLANG   ?= clang
BUILD   ?= build
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
	-Wmissing-prototypes -Wold-style-definition -Wvla -Wimplicit-fallthrough \
	-Wundef -Wno-unused-parameter
CPPFLAGS := -Isrc -D_GNU_SOURCE -DCLONE_VERSION='"$(VERSION)"'
CFLAGS_COMMON := -std=gnu11 $(WARN) -g -MMD -MP
CFLAGS_REL := $(CFLAGS_COMMON) -O2 -fstack-protector-strong -D_FORTIFY_SOURCE=2
CFLAGS_SAN := $(CFLAGS_COMMON) -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined
LIBS := -lnettle -lz -llzma -lzstd -lpthread -lhttp_parser -ljansson

SRC      := $(sort $(shell find src -name '*.c'))
LIB_SRC  := $(filter-out src/main.c,$(SRC))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c tests/unit/fakes/*.c))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))

# clone-agent (agent/, the guest side) is a static musl binary that the
# clone binary carries (src/boot/agent_blob.S) and puts in guest initramfs.
MUSL_CC   ?= musl-gcc
AGENT_SRC := $(sort $(wildcard agent/*.c)) src/api/agent_proto.c
AGENT_MAX := 1048576
BLOB      := src/boot/agent_blob.S

REL_OBJ  := $(SRC:%.c=$(BUILD)/rel/%.o) $(BUILD)/rel/agent_blob.o
SAN_OBJ  := $(LIB_SRC:%.c=$(BUILD)/san/%.o) $(BUILD)/san/agent_blob.o
UNIT_OBJ := $(UNIT_SRC:%.c=$(BUILD)/san/%.o)
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/fuzz/%.o) $(BUILD)/fuzz/agent_blob.o
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)

.PHONY: all agent clone unit fuzz fuzz-replay fuzz-run integration lint format check clean

all: $(BUILD)/clone

agent: $(BUILD)/clone-agent

$(BUILD)/clone-agent: $(AGENT_SRC) $(wildcard agent/*.h) src/api/agent_proto.h
	@mkdir -p $(dir $@)
	$(MUSL_CC) -static -Os -std=gnu11 $(WARN) -D_GNU_SOURCE -Isrc -Iagent \
		-ffunction-sections -fdata-sections -Wl,--gc-sections -s -o $@ $(AGENT_SRC)
	@sz=$$(stat -c %s $@); [ $$sz -lt $(AGENT_MAX) ] || \
		{ echo "clone-agent is $$sz bytes (limit $(AGENT_MAX))"; rm -f $@; exit 1; }

# The agent inside every flavour of the library: .incbin of the built binary.
$(BUILD)/%/agent_blob.o: $(BLOB) $(BUILD)/clone-agent
	@mkdir -p $(dir $@)
	$(CC) -c -DAGENT_BIN='"$(BUILD)/clone-agent"' -o $@ $(BLOB)

$(BUILD)/clone: $(REL_OBJ)
	$(CC) -static -o $@ $^ $(LIBS)

$(BUILD)/rel/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS_REL) -c -o $@ $<

$(BUILD)/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Itests/unit $(CFLAGS_SAN) -c -o $@ $<

$(BUILD)/san/libclone.a: $(SAN_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/unit-tests: $(UNIT_OBJ) $(BUILD)/san/libclone.a
	$(CC) -fsanitize=address,undefined -o $@ $(UNIT_OBJ) $(BUILD)/san/libclone.a -lcriterion $(LIBS)

# Unit tests run from the repository root (they read tests/unit/data and /boot).
unit: $(BUILD)/unit-tests $(BUILD)/clone
	ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=tests/unit/lsan.supp \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 $(BUILD)/unit-tests --jobs 2

$(BUILD)/fuzz/%.o: %.c
	@mkdir -p $(dir $@)
	$(CLANG) $(CPPFLAGS) -std=gnu11 $(WARN) -g -MMD -MP -O1 -fsanitize=fuzzer-no-link,address,undefined -c -o $@ $<

$(BUILD)/fuzz/libclone.a: $(FUZZ_LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

# Test helpers the fuzz targets share with the unit tests.
FUZZ_HELPER_OBJ := $(BUILD)/fuzz/tests/unit/fakes/virtio_driver.o
.SECONDARY: $(FUZZ_HELPER_OBJ)

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_HELPER_OBJ) $(BUILD)/fuzz/libclone.a
	$(CLANG) $(CPPFLAGS) -Itests/unit -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined \
		-o $@ $< $(FUZZ_HELPER_OBJ) $(BUILD)/fuzz/libclone.a $(LIBS)

fuzz: $(FUZZ_BIN)

# Replay every checked-in corpus once: regressions fail the build.
fuzz-replay: fuzz
	@set -e; for f in $(FUZZ_BIN); do t=$${f##*/fuzz_}; \
		echo "fuzz-replay: $$t"; \
		$$f -runs=0 tests/fuzz/corpus/$$t >/dev/null 2>$(BUILD)/fuzz/$$t.log || \
		{ cat $(BUILD)/fuzz/$$t.log; exit 1; }; done

# Explore for FUZZ_SECONDS per target (not part of check).
FUZZ_SECONDS ?= 60
fuzz-run: fuzz
	@set -e; for f in $(FUZZ_BIN); do t=$${f##*/fuzz_}; \
		$$f -max_total_time=$(FUZZ_SECONDS) tests/fuzz/corpus/$$t; done

integration: $(BUILD)/clone
	tests/nested/run -- $(PYTEST_ARGS)

FORMAT_SRC = $(SRC) $(UNIT_SRC) $(FUZZ_SRC) $(wildcard agent/*.c) $(shell find src tests agent -name '*.h')

lint:
	clang-format --dry-run -Werror $(FORMAT_SRC)

format:
	clang-format -i $(FORMAT_SRC)

check: lint unit fuzz-replay integration

clean:
	rm -rf $(BUILD)

-include $(REL_OBJ:.o=.d) $(SAN_OBJ:.o=.d) $(UNIT_OBJ:.o=.d) $(FUZZ_LIB_OBJ:.o=.d) \
	$(FUZZ_HELPER_OBJ:.o=.d)
