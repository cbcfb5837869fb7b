# airbyte-replication-driver: build, test, demo.
#   make          build the static driver and the example connectors
#   make test     every test: unit, end-to-end, the scenarios with real
#                 PostgreSQL/S3 servers and podman containers
#                 (prints "N passed, N failed")
#   make test-quick  unit + end-to-end only (about 2 minutes)
#   make demo     the seed's hello-airbyte-file-to-csv quick start, no Docker

CC      ?= gcc
BUILD   ?= build
CFLAGS  ?= -O2 -g -ffunction-sections -fdata-sections
WARN    := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
CPPFLAGS += -D_GNU_SOURCE -Isrc -MMD -MP
ALL_CFLAGS = -std=c17 $(WARN) $(CFLAGS) $(CPPFLAGS) $(OPT)
# small code everywhere but on the hot path (the driver must stay under 1 MiB)
OPT ?= -Os
HOT := src/protocol/scan src/protocol/scan_simd src/driver/relay src/protocol/catalog \
	connectors/kit/ck_raw connectors/kit/ck_out
$(HOT:%=$(BUILD)/obj/%.o): OPT = -O2
# The driver runs inside arbitrary connector images: no shared libraries.
STATIC_LDFLAGS := -static -s -Wl,--gc-sections
LIBS    := -ljansson -lyaml -lm -lpthread

DRIVER      := $(BUILD)/bin/airbyte-replication-driver
LIB_SRC     := $(filter-out src/cli/%,$(wildcard src/*/*.c))
CLI_SRC     := $(wildcard src/cli/*.c)
LIB_OBJ     := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ     := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_SRC    := $(wildcard tests/unit/test_*.c)
UNIT_BIN    := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all driver connectors test test-quick unit e2e demo clean
all: driver connectors operator
driver: $(DRIVER)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libdriver.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# The driver links against musl: static glibc alone costs ~770 KB (printf,
# iconv, dl machinery).  Its sources are compiled again with musl-gcc into
# $(BUILD)/musl-obj, against jansson and libyaml built for musl from Debian's
# sources by scripts/build-musl-deps.sh (Debian's .a files are glibc builds;
# musl-gcc's -nostdinc keeps /usr/include out).  Unit tests, libdriver.a and
# the connectors stay on glibc ($(CC)).  `make DRIVER_CC=cc`: the glibc driver.
DRIVER_CC ?= musl-gcc
MUSL_DIR  ?= $(BUILD)/musl
DRIVER_MUSL = $(findstring musl,$(notdir $(firstword $(DRIVER_CC))))
ifneq ($(DRIVER_MUSL),)
ifeq ($(shell command -v $(firstword $(DRIVER_CC)) 2>/dev/null),)
$(warning $(DRIVER_CC) not found (scripts/install-deps.sh installs musl-tools): the driver is linked against glibc and exceeds 1 MiB)
override DRIVER_CC := $(CC)
endif
endif

# relink when DRIVER_CC changes
$(BUILD)/driver-cc: FORCE
	@mkdir -p $(dir $@)
	@echo '$(DRIVER_CC)' | cmp -s - $@ 2>/dev/null || echo '$(DRIVER_CC)' >$@
.PHONY: FORCE

ifneq ($(DRIVER_MUSL),)
MUSL_OBJ  := $(BUILD)/musl-obj
MUSL_LIBS := $(MUSL_DIR)/lib/libjansson.a $(MUSL_DIR)/lib/libyaml.a
DRIVER_OBJ := $(CLI_SRC:%.c=$(MUSL_OBJ)/%.o) $(LIB_SRC:%.c=$(MUSL_OBJ)/%.o)
$(HOT:%=$(MUSL_OBJ)/%.o): OPT = -O2

$(MUSL_LIBS) &:
	scripts/build-musl-deps.sh $(MUSL_DIR)

$(MUSL_OBJ)/%.o: %.c | $(MUSL_LIBS)
	@mkdir -p $(dir $@)
	@echo "  MUSLCC  $<"
	@$(DRIVER_CC) $(ALL_CFLAGS) -isystem $(MUSL_DIR)/include -c $< -o $@

$(DRIVER): $(DRIVER_OBJ) $(MUSL_LIBS) $(BUILD)/driver-cc
	@mkdir -p $(dir $@)
	$(DRIVER_CC) $(STATIC_LDFLAGS) -o $@ $(DRIVER_OBJ) $(MUSL_LIBS) -lm -lpthread
else
$(DRIVER): $(CLI_OBJ) $(BUILD)/libdriver.a $(BUILD)/driver-cc
	@mkdir -p $(dir $@)
	$(DRIVER_CC) $(STATIC_LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libdriver.a $(LIBS)
endif

include connectors/connectors.mk
include operator/operator.mk
-include bench/bench.mk
-include deploy/deploy.mk

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libdriver.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libdriver.a -lcmocka $(LIBS)

unit: $(UNIT_BIN)
test: all $(UNIT_BIN)
	tests/run.sh
test-quick: all $(UNIT_BIN)
	tests/run.sh --quick
e2e: all
	tests/run.sh --e2e-only

demo: all
	examples/quickstart.sh

# the operator against a real API server (builds it on first use, ~12 min)
.PHONY: test-k8s
test-k8s: all $(UNIT_BIN)
	tests/k8s/run.sh

# the seed's other scenarios, with real services on 127.0.0.1
.PHONY: e2e-s3-s3 e2e-postgres-s3
e2e-s3-s3: all
	tests/scenarios/s3-s3.sh
e2e-postgres-s3: all
	tests/scenarios/postgres-s3.sh

# every libFuzzer target (tests/fuzz/), FUZZ_SECONDS (60) each, after
# replaying tests/fuzz/crashes/; needs clang (scripts/install-deps.sh)
.PHONY: fuzz
fuzz:
	tests/fuzz/run.sh --all

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
