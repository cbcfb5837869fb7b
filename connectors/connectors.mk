# Example connectors, included by the top-level Makefile (which provides CC,
# BUILD, ALL_CFLAGS, STATIC_LDFLAGS, LIBS and the $(BUILD)/obj/%.o rule).
# Connector sources include the kit as "../kit/ck_*.h", so no extra -I.

CONNKIT_SRC := $(wildcard connectors/kit/*.c)
CONNKIT_OBJ := $(CONNKIT_SRC:%.c=$(BUILD)/obj/%.o)
CONNKIT_LIB := $(BUILD)/libconnkit.a

CONNECTORS := source-file destination-csv source-e2e-test destination-dev-null
CONNECTOR_BINS := $(CONNECTORS:%=$(BUILD)/bin/%)

.PHONY: connectors
connectors: $(CONNECTOR_BINS)

$(CONNKIT_LIB): $(CONNKIT_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# One directory per connector: every .c in connectors/<name>/ is linked in.
define connector_rule
$(1)_OBJ := $$(patsubst %.c,$$(BUILD)/obj/%.o,$$(wildcard connectors/$(1)/*.c))
$$(BUILD)/bin/$(1): $$($(1)_OBJ) $$(CONNKIT_LIB)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(STATIC_LDFLAGS) -o $$@ $$($(1)_OBJ) $$(CONNKIT_LIB) $$(LIBS)
endef
$(foreach c,$(CONNECTORS),$(eval $(call connector_rule,$(c))))
