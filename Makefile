# vmconv: one non-recursive Makefile.  Objects go under $(BUILD).
#
#   make              build vmconv, libvmconv and the plugins
#   make demo         install what is missing, build, convert the demo disk
#   make check        install what is missing, build, check the layers
#                     (scripts/check-layers), run every test
#   make check-asan   the test suite under ASan and UBSan
#   make check-fresh  .ci/run in a throw-away Debian 12 chroot (root; what CI
#                     sees on a new machine: scripts/check-fresh)
#   make fuzz         build the libFuzzer targets (clang)
#   make fuzz-long    run each for FUZZ_SECONDS (600) from build/fuzz/corpus
#   make bench        the benchmarks, side by side with qemu-img
#   make install      PREFIX=/usr/local DESTDIR=

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
PLUGINDIR ?= $(LIBDIR)/vmconv/plugins
BUILD ?= build

CC ?= gcc
PKG_CONFIG ?= pkg-config

# Libraries by who uses them; --as-needed drops any the code does not call.
LIB_PKGS := jansson libcrypto zlib libzstd libisal libdeflate
BIN_PKGS := $(LIB_PKGS) libguestfs libseccomp libarchive libxml-2.0
TEST_PKGS := criterion

pkg_cflags = $(shell $(PKG_CONFIG) --cflags $(1) 2>/dev/null)
pkg_libs = $(shell $(PKG_CONFIG) --libs $(1) 2>/dev/null)

WARN := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wpointer-arith \
	-Wmissing-prototypes -Wstrict-prototypes
CFLAGS ?= -O2 -g
SANITIZE ?=
ifneq ($(SANITIZE),)
CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
ALL_CFLAGS := -std=gnu11 $(WARN) $(CFLAGS) -fPIC -pthread -D_FILE_OFFSET_BITS=64 \
	-Iinclude -I. -DVMC_PLUGIN_DIR='"$(PLUGINDIR)"' \
	$(call pkg_cflags,$(BIN_PKGS))
ALL_LDFLAGS := $(LDFLAGS) -pthread -Wl,--as-needed

LIB_SRCS := $(wildcard common/*.c formats/*.c convert/*.c) plugins/loader.c
INJ_SRCS := $(wildcard inject/*.c)
# The layers above convert/ (validate, migrate): linked into vmconv and
# the tests.
VAL_SRCS := $(wildcard validate/*.c validate/vmm/*.c migrate/*.c)
# Whole VMs (OVF/OVA, .vmx, Hyper-V, libvirt): above convert/, below cli/.
VM_SRCS := $(wildcard vm/*.c)
# Batch runs (batch/): in the archive linked first (vm/'s), as they call
# vm/, migrate/ and the validator.
BATCH_SRCS := $(wildcard batch/*.c)
BATCH_OBJS := $(BATCH_SRCS:%.c=$(BUILD)/%.o)
BIN_SRCS := $(wildcard cli/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
INJ_OBJS := $(INJ_SRCS:%.c=$(BUILD)/%.o)
VAL_OBJS := $(VAL_SRCS:%.c=$(BUILD)/%.o)
VM_OBJS := $(VM_SRCS:%.c=$(BUILD)/%.o)
BIN_OBJS := $(BIN_SRCS:%.c=$(BUILD)/%.o)
LIB_LIBS := $(call pkg_libs,$(LIB_PKGS)) -ldl
BIN_LIBS := $(call pkg_libs,$(BIN_PKGS)) -ldl -lm

VMCONV := $(BUILD)/vmconv
LIBA := $(BUILD)/libvmconv.a
# The validator (engines, VMM, devices): linked into vmconv and the tests.
VALA := $(BUILD)/libvmcvalidate.a
# Driver injection and guest inspection (libguestfs, libarchive).
INJA := $(BUILD)/libvmcinject.a
VMA := $(BUILD)/libvmcvm.a
LIBSO := $(BUILD)/libvmconv.so.0

# Plugins: one folder each under plugins/, built to $(BUILD)/plugins/NAME.so
PLUGINS := $(sort $(notdir $(patsubst %/,%,$(dir $(wildcard plugins/*/*.c)))))
PLUGIN_SOS := $(PLUGINS:%=$(BUILD)/plugins/%.so)

UNIT_SRCS := $(wildcard tests/unit/test-*.c)
UNIT_BINS := $(UNIT_SRCS:%.c=$(BUILD)/%)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz-*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)

.PHONY: all deps demo check check-run check-asan check-fresh check-layers \
	check-inject \
	unit integration fuzz fuzz-long \
	bench install uninstall clean
all: $(VMCONV) $(LIBSO) $(PLUGIN_SOS)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(LIBA): $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(VALA): $(VAL_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(INJA): $(INJ_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(VMA): $(VM_OBJS) $(BATCH_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(LIBSO): $(LIB_OBJS)
	$(CC) -shared -Wl,-soname,libvmconv.so.0 -o $@ $^ $(ALL_LDFLAGS) $(LIB_LIBS)

# The binary exports to plugins exactly what the public headers declare
# (cli/vmconv.syms, checked against them by scripts/check-layers).  The
# validator archive goes in whole: the engines reach the VMM through weak
# references (a build without validate/vmm/ says the engine is absent).
EXPORTS := -Wl,--dynamic-list=cli/vmconv.syms
$(VMCONV): $(BIN_OBJS) $(VMA) $(VALA) $(INJA) $(LIBA) cli/vmconv.syms
	$(CC) $(EXPORTS) -o $@ $(BIN_OBJS) $(VMA) -Wl,--whole-archive \
		$(VALA) $(INJA) $(LIBA) -Wl,--no-whole-archive $(ALL_LDFLAGS) $(BIN_LIBS)

define plugin_rule
$(BUILD)/plugins/$(1).so: $(patsubst %.c,$(BUILD)/%.o,$(wildcard plugins/$(1)/*.c))
	@mkdir -p $$(@D)
	$$(CC) -shared -Wl,--version-script=plugins/plugin.map -o $$@ $$^ \
		$$(ALL_LDFLAGS) $(LIB_LIBS)
endef
$(foreach p,$(PLUGINS),$(eval $(call plugin_rule,$(p))))

$(BUILD)/tests/unit/%: tests/unit/%.c $(VMA) $(VALA) $(INJA) $(LIBA) cli/vmconv.syms
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(call pkg_cflags,$(TEST_PKGS)) -MMD -MP $(EXPORTS) \
		-o $@ $< $(VMA) -Wl,--whole-archive $(VALA) $(INJA) $(LIBA) -Wl,--no-whole-archive \
		$(ALL_LDFLAGS) $(call pkg_libs,$(TEST_PKGS)) $(BIN_LIBS)

# The whole-VM readers need vm/ and libxml2, libarchive.
$(BUILD)/fuzz/fuzz-ovf: tests/fuzz/fuzz-ovf.c $(LIB_SRCS) $(VM_SRCS)
	@mkdir -p $(@D)
	clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -I. \
		$(call pkg_cflags,$(LIB_PKGS) libxml-2.0 libarchive) -o $@ $< \
		$(LIB_SRCS) $(VM_SRCS) $(LIB_LIBS) \
		$(call pkg_libs,libxml-2.0 libarchive) -pthread

$(BUILD)/fuzz/%: tests/fuzz/%.c $(LIB_SRCS)
	@mkdir -p $(@D)
	clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -I. \
		$(call pkg_cflags,$(LIB_PKGS)) -o $@ $< $(LIB_SRCS) \
		$(LIB_LIBS) -pthread

# Targets in the validator (the VMM's devices, the console watcher) link
# it too.
FUZZ_VAL_BUILD = @mkdir -p $(@D); clang -std=gnu11 -g -O1 \
	-fsanitize=fuzzer,address,undefined -Iinclude -I. \
	$(call pkg_cflags,$(BIN_PKGS)) -o $@ $< $(LIB_SRCS) $(INJ_SRCS) \
	$(VAL_SRCS) $(BIN_LIBS) -pthread
$(BUILD)/fuzz/fuzz-vmm-%: tests/fuzz/fuzz-vmm-%.c $(LIB_SRCS) $(INJ_SRCS) $(VAL_SRCS)
	$(FUZZ_VAL_BUILD)
$(BUILD)/fuzz/fuzz-watch: tests/fuzz/fuzz-watch.c $(LIB_SRCS) $(INJ_SRCS) $(VAL_SRCS)
	$(FUZZ_VAL_BUILD)

# ---- set-up, demo, tests ----

deps:
	@scripts/install-deps

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo $(BUILD)

check: deps
	@$(MAKE) --no-print-directory check-run

# The layers, the plugin ABI, the export list and function lengths
# (scripts/check-layers), then every test.
check-run: all $(UNIT_BINS)
	@scripts/check-layers $(BUILD)
	@tests/run-tests $(BUILD)

# Only the driver-injection tests (part of make check): the three
# debootstrap guests end to end (inject-debian, inject-dracut, inject-lvm)
# and validate-uefi-inject.
check-inject: deps
	@$(MAKE) --no-print-directory all
	@tests/run-tests $(BUILD) inject-

check-layers: all
	@scripts/check-layers $(BUILD)

check-asan: deps
	@VMCONV_SANITIZE=1 $(MAKE) --no-print-directory BUILD=build/asan SANITIZE=1 check-run

check-fresh:
	@scripts/check-fresh

fuzz: $(FUZZ_BINS)

# Every target for FUZZ_SECONDS each (default 600) from build/fuzz/corpus/
# NAME (kept between runs) and the seeds fuzz-smoke makes; findings go to
# build/fuzz/findings/.  The totals are in build/fuzz/long.log.
FUZZ_SECONDS ?= 600
fuzz-long: $(FUZZ_BINS)
	@mkdir -p $(BUILD)/fuzz/findings $(BUILD)/fuzz/seeds
	@for t in $(FUZZ_BINS); do n=$$(basename $$t); \
	  mkdir -p $(BUILD)/fuzz/corpus/$$n; \
	  echo "== $$n $(FUZZ_SECONDS) s" | tee -a $(BUILD)/fuzz/long.log; \
	  $$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz/findings/$$n- \
	    $(BUILD)/fuzz/corpus/$$n $(BUILD)/fuzz/seeds \
	    > $(BUILD)/fuzz/$$n.long.log 2>&1; \
	  echo "exit $$? $$(grep -E 'stat::number_of_executed_units' \
	    $(BUILD)/fuzz/$$n.long.log)" | tee -a $(BUILD)/fuzz/long.log; \
	done

bench: all
	@bench/run $(BUILD)
	@bench/scale $(BUILD)
	@bench/boot $(BUILD)
	@bench/inject $(BUILD)

# ---- install ----

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) \
		$(DESTDIR)$(INCDIR)/vmconv $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(PLUGINDIR)
	install -m 755 $(VMCONV) $(DESTDIR)$(BINDIR)/vmconv
	install -m 644 $(LIBA) $(DESTDIR)$(LIBDIR)/libvmconv.a
	install -m 755 $(LIBSO) $(DESTDIR)$(LIBDIR)/libvmconv.so.0
	ln -sf libvmconv.so.0 $(DESTDIR)$(LIBDIR)/libvmconv.so
	install -m 644 include/vmconv/*.h $(DESTDIR)$(INCDIR)/vmconv/
	install -m 644 doc/vmconv.1 $(DESTDIR)$(MANDIR)/man1/vmconv.1
	$(if $(PLUGIN_SOS),install -m 755 $(PLUGIN_SOS) $(DESTDIR)$(PLUGINDIR)/)

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/vmconv $(DESTDIR)$(LIBDIR)/libvmconv.* \
		$(DESTDIR)$(MANDIR)/man1/vmconv.1
	rm -rf $(DESTDIR)$(INCDIR)/vmconv $(DESTDIR)$(LIBDIR)/vmconv

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -path $(BUILD)/check-fresh -prune -o -name '*.d' -type f -print 2>/dev/null)
