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
LIBS := -lnettle -lz -llzma -lzstd -lpthread

SRC      := $(sort $(shell find src -name '*.c'))
LIB_SRC  := $(filter-out src/main.c,$(SRC))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c tests/unit/fakes/*.c))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))

REL_OBJ  := $(SRC:%.c=$(BUILD)/rel/%.o)
SAN_OBJ  := $(LIB_SRC:%.c=$(BUILD)/san/%.o)
UNIT_OBJ := $(UNIT_SRC:%.c=$(BUILD)/san/%.o)
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/fuzz/%.o)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)

.PHONY: all clone unit fuzz fuzz-replay fuzz-run integration lint format check clean

all: $(BUILD)/clone

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
	$(CLANG) $(CPPFLAGS) -std=gnu11 $(WARN) -g -O1 -fsanitize=fuzzer-no-link,address,undefined -c -o $@ $<

$(BUILD)/fuzz/libclone.a: $(FUZZ_LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(BUILD)/fuzz/libclone.a
	$(CLANG) $(CPPFLAGS) -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -o $@ $< \
		$(BUILD)/fuzz/libclone.a $(LIBS)

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

lint:
	clang-format --dry-run -Werror $(SRC) $(UNIT_SRC) $(FUZZ_SRC) $(shell find src tests -name '*.h')

format:
	clang-format -i $(SRC) $(UNIT_SRC) $(FUZZ_SRC) $(shell find src tests -name '*.h')

check: lint unit fuzz-replay integration

clean:
	rm -rf $(BUILD)

-include $(REL_OBJ:.o=.d) $(SAN_OBJ:.o=.d) $(UNIT_OBJ:.o=.d) $(FUZZ_LIB_OBJ:.o=.d)
