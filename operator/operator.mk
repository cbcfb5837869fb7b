# The Kubernetes operator, included by the top-level Makefile (which
# provides CC, BUILD, ALL_CFLAGS, LIBS, the $(BUILD)/obj/%.o rule and
# libdriver.a for the shared utilities: log, httpd, yamljson).
# Linked dynamically against libcurl (TLS): like the S3 connectors, there is
# no usable static libcurl in Debian.  Its image carries the libraries.

OPERATOR     := $(BUILD)/bin/airbyte-replication-operator
OPERATOR_SRC := $(wildcard operator/*.c)
OPERATOR_OBJ := $(OPERATOR_SRC:%.c=$(BUILD)/obj/%.o)
# everything but main.c, for the unit tests
OPERATOR_LIB := $(BUILD)/liboperator.a

.PHONY: operator
operator: $(OPERATOR)

$(OPERATOR_LIB): $(filter-out %/main.o,$(OPERATOR_OBJ))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(OPERATOR): $(BUILD)/obj/operator/main.o $(OPERATOR_LIB) $(BUILD)/libdriver.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -s -Wl,--gc-sections -o $@ $^ -lcurl $(LIBS)

# unit tests of the operator's pure parts link liboperator.a too
$(BUILD)/tests/test_operator_%: tests/unit/test_operator_%.c $(OPERATOR_LIB) $(BUILD)/libdriver.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(OPERATOR_LIB) $(BUILD)/libdriver.a -lcmocka -lcurl $(LIBS)
$(BUILD)/obj/operator/%.o $(BUILD)/tests/test_operator_%: CPPFLAGS += -I.
