# airbyte-replication-driver: build, test, demo.
#   make          build the static driver and the example connectors
#   make test     unit + end-to-end tests (prints "N passed, N failed")
#   make demo     the seed's hello-airbyte-file-to-csv quick start, no Docker

CC      ?= gcc
BUILD   ?= build
CFLAGS  ?= -O2 -g -ffunction-sections -fdata-sections
WARN    := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
CPPFLAGS += -D_GNU_SOURCE -Isrc -MMD -MP
ALL_CFLAGS = -std=c17 $(WARN) $(CFLAGS) $(CPPFLAGS) $(OPT)
# small code everywhere but on the hot path (the driver must stay under 1 MiB)
OPT ?= -Os
HOT := src/protocol/scan src/protocol/scan_simd src/driver/relay src/protocol/catalog
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

.PHONY: all driver connectors test unit e2e demo clean
all: driver connectors
driver: $(DRIVER)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libdriver.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(DRIVER): $(CLI_OBJ) $(BUILD)/libdriver.a
	@mkdir -p $(dir $@)
	$(CC) $(STATIC_LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libdriver.a $(LIBS)

include connectors/connectors.mk
-include bench/bench.mk

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libdriver.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libdriver.a -lcmocka $(LIBS)

unit: $(UNIT_BIN)
test: all $(UNIT_BIN)
	tests/run.sh
e2e: all
	tests/run.sh --e2e-only

demo: all
	examples/quickstart.sh

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
