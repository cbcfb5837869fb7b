# Example connectors, included by the top-level Makefile (which provides CC,
# BUILD, ALL_CFLAGS, STATIC_LDFLAGS, LIBS and the $(BUILD)/obj/%.o rule).
# Connector sources include the kit as "../kit/ck_*.h", so no extra -I.

CONNKIT_SRC := $(wildcard connectors/kit/*.c)
CONNKIT_OBJ := $(CONNKIT_SRC:%.c=$(BUILD)/obj/%.o)
CONNKIT_LIB := $(BUILD)/libconnkit.a

CONNECTORS := source-file destination-csv source-e2e-test destination-dev-null \
	destination-s3 source-s3 source-postgres

# Per-connector link flags (default: static).  The S3 connectors link
# libcurl and zlib dynamically: Debian ships no usable static libcurl (its
# .a needs static nghttp2, libssh2, gssapi, ... that are not packaged).
destination-s3_LDFLAGS := -s -Wl,--gc-sections
destination-s3_LIBS := -lcurl -lz
source-s3_LDFLAGS := -s -Wl,--gc-sections
source-s3_LIBS := -lcurl -lz
# source-postgres links libpq dynamically: a static libpq also needs
# libpgcommon/libpgport (not in libpq-dev) and libldap/libgssapi_krb5
# archives that Debian does not ship.  Runtime: the libpq5 package.
source-postgres_LDFLAGS := -s -Wl,--gc-sections
source-postgres_LIBS := -lpq
$(BUILD)/obj/connectors/source-postgres/%.o: CPPFLAGS += \
	-I$(or $(shell pg_config --includedir 2>/dev/null),/usr/include/postgresql)
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
	$$(CC) $$(or $$($(1)_LDFLAGS),$$(STATIC_LDFLAGS)) -o $$@ $$($(1)_OBJ) $$(CONNKIT_LIB) $$($(1)_LIBS) $$(LIBS)
endef
$(foreach c,$(CONNECTORS),$(eval $(call connector_rule,$(c))))
