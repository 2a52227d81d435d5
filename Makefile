# hutch - daemonless Linux sandbox executor.  `make help` lists the targets.
VERSION    := 0.1.0
SOVERSION  := 0
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DATADIR    ?= $(PREFIX)/share
MANDIR     ?= $(DATADIR)/man
DESTDIR    ?=

BUILD      ?= build
CC         ?= cc
PKG_CONFIG ?= pkg-config
PKGS       := libseccomp libcgroup libnl-3.0 libnl-route-3.0 libmnl libarchive jansson yaml-0.1 libcrypto

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-7s %s\n' $(1) $(2);
endif

WARNINGS := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wformat=2 -Wno-format-nonliteral -Wpointer-arith -Wundef -Wvla -Wwrite-strings \
            -Wno-missing-field-initializers -Wno-unused-parameter
OPT      ?= -O2 -g
DEFS     := -D_GNU_SOURCE -DHUTCH_VERSION='"$(VERSION)"' \
            -DHUTCH_POLICIES_DIR='"$(DATADIR)/hutch/policies"'
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
BASE_CFLAGS := -std=gnu11 -fPIC -fvisibility=hidden -fno-strict-aliasing $(WARNINGS) $(OPT) $(DEFS)
ifeq ($(SAN),1)
BASE_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SAN_LDFLAGS := -fsanitize=address,undefined
endif
ALL_CFLAGS = $(BASE_CFLAGS) -Iinclude -iquote src/lib $(PKG_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(SAN_LDFLAGS) $(LDFLAGS)

LIB_SRCS := $(sort $(wildcard src/lib/*.c))
CLI_SRCS := $(sort $(wildcard src/cli/*.c))
LIB_OBJS := $(LIB_SRCS:src/lib/%.c=$(BUILD)/lib/%.o)
CLI_OBJS := $(CLI_SRCS:src/cli/%.c=$(BUILD)/cli/%.o)
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))

STATIC_LIB := $(BUILD)/libhutch.a
SHARED_LIB := $(BUILD)/libhutch.so.$(SOVERSION)
HUTCH      := $(BUILD)/hutch
PROBE      := $(BUILD)/tests/probe
ATTACK     := $(BUILD)/tests/attack
TEST_ROOTFS := $(BUILD)/rootfs

.PHONY: all deps check unit integration security vmtest asan install uninstall run clean help \
        bench bench-report fuzz tidy format format-check test-rootfs
.DEFAULT_GOAL := all

all: $(HUTCH) $(SHARED_LIB) $(STATIC_LIB) $(BUILD)/hutch.pc

help:
	@echo "make            build bin, libhutch.a, libhutch.so ($(BUILD)/)"
	@echo "make run        install deps, build, prepare the default image, run a sandboxed job"
	@echo "make check      install deps, build, run every test suite"
	@echo "make unit | integration | security | vmtest | asan | fuzz | bench | bench-report"
	@echo "make install [PREFIX=/usr/local] [DESTDIR=]"

deps:
	$(Q)tools/install-deps

$(BUILD)/lib/%.o: src/lib/%.c $(wildcard src/lib/*.h) include/hutch.h | $(BUILD)/lib
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/cli/%.o: src/cli/%.c $(wildcard src/cli/*.h) include/hutch.h | $(BUILD)/cli
	$(call msg,CC,$@)
	$(Q)$(CC) $(BASE_CFLAGS) -Iinclude $(CFLAGS) -c $< -o $@

$(BUILD)/lib $(BUILD)/cli $(BUILD)/tests:
	$(Q)mkdir -p $@

$(STATIC_LIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(SHARED_LIB): $(LIB_OBJS) src/lib/libhutch.map
	$(call msg,LD,$@)
	$(Q)$(CC) -shared -Wl,-soname,libhutch.so.$(SOVERSION) -Wl,--version-script=src/lib/libhutch.map \
		$(ALL_LDFLAGS) -o $@ $(LIB_OBJS) $(PKG_LIBS)
	$(Q)ln -sf libhutch.so.$(SOVERSION) $(BUILD)/libhutch.so

# The CLI links libhutch.a and, where Debian ships archives, its dependencies statically:
# loading 24 shared objects (ICU and libstdc++ come in through libarchive's libxml2) cost ~3 ms
# of every sandbox start. libmnl ships no archive. Sanitizer builds stay dynamic.
CLI_STATIC_LIBS := -Wl,-Bstatic -larchive -lnettle -lacl -llzma -lzstd -llz4 -lbz2 -lz -lxml2 \
                   -licuuc -licudata -lseccomp -lnl-route-3 -lnl-3 -ljansson -lyaml -lcrypto \
                   -lcgroup -Wl,-Bdynamic -lmnl -lstdc++ -lm -lpthread -ldl
ifeq ($(SAN),1)
CLI_LIBS = $(PKG_LIBS)
else
CLI_LIBS = $(CLI_STATIC_LIBS)
endif
$(HUTCH): $(CLI_OBJS) $(STATIC_LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJS) $(STATIC_LIB) $(CLI_LIBS) 2>$@.ldlog || \
		{ cat $@.ldlog; rm -f $@; exit 1; }

$(BUILD)/hutch.pc: Makefile
	$(Q)printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCLUDEDIR)' '' \
		'Name: hutch' 'Description: daemonless Linux sandbox executor' 'Version: $(VERSION)' \
		'Requires.private: $(PKGS)' 'Libs: -L$${libdir} -lhutch' 'Cflags: -I$${includedir}' > $@

# ---------------------------------------------------------------- tests
$(BUILD)/tests/test_%: tests/unit/test_%.c $(STATIC_LIB) | $(BUILD)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(BASE_CFLAGS) -Wno-missing-prototypes -Iinclude -iquote src/lib $(PKG_CFLAGS) \
		$(shell $(PKG_CONFIG) --cflags cmocka) $(CFLAGS) -o $@ $< $(STATIC_LIB) $(PKG_LIBS) \
		$(shell $(PKG_CONFIG) --libs cmocka) $(ALL_LDFLAGS)

# The probe runs inside sandboxes: static, so it needs nothing from the rootfs.
$(PROBE): tests/probe.c | $(BUILD)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -static -o $@ $<

# Escape attempts for tests/security, static too.
$(ATTACK): tests/attack.c | $(BUILD)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -static -o $@ $<

$(TEST_ROOTFS)/.ready: tools/mkimage $(PROBE) $(ATTACK)
	$(call msg,MKIMAGE,$(TEST_ROOTFS))
	$(Q)tools/mkimage --rootfs $(TEST_ROOTFS) --add $(PROBE):/usr/bin/probe --add $(ATTACK):/usr/bin/attack
	$(Q)touch $@

test-rootfs: $(TEST_ROOTFS)/.ready

unit: $(UNIT_BINS)
	$(Q)tests/run-suite unit $(UNIT_BINS)

integration: all test-rootfs
	$(Q)HUTCH=$(abspath $(HUTCH)) ROOTFS=$(abspath $(TEST_ROOTFS)) tests/run-suite integration tests/integration/*.sh

security: all test-rootfs
	$(Q)HUTCH=$(abspath $(HUTCH)) ROOTFS=$(abspath $(TEST_ROOTFS)) tests/run-suite security tests/security/*.sh

# The cgroup tests also run in a pure cgroup v2 guest (tools/vmtest, ~2.5 min under qemu TCG);
# HUTCH_SKIP_VMTEST=1 leaves them out of a quick local run.
check: deps
	$(Q)$(MAKE) --no-print-directory all test-rootfs $(UNIT_BINS)
	$(Q)if [ "$${HUTCH_SKIP_VMTEST:-0}" != 1 ]; then tools/vmtest --check $(abspath $(BUILD)); fi
	$(Q)HUTCH=$(abspath $(HUTCH)) ROOTFS=$(abspath $(TEST_ROOTFS)) tests/run-suite all \
		$(UNIT_BINS) tests/integration/*.sh tests/security/*.sh
	@# the legacy mount(2) back end (hutch's fallback where the new mount API is missing or
	@# filtered): the mount-heavy suites once more through it
	$(Q)HUTCH_MOUNT_LEGACY=1 HUTCH=$(abspath $(HUTCH)) ROOTFS=$(abspath $(TEST_ROOTFS)) \
		tests/run-suite legacy-mount tests/integration/run_rootfs.sh \
		tests/integration/run_isolation.sh tests/security/mounts.sh tests/security/proc_sys.sh \
		tests/security/devices.sh

asan: deps
	$(Q)$(MAKE) --no-print-directory BUILD=build-asan SAN=1 OPT='-O1 -g' check

vmtest: all test-rootfs $(BUILD)/tests/test_cgroup
	$(Q)tools/vmtest --check $(abspath $(BUILD))

fuzz:
	$(Q)tools/fuzz $(FUZZ_SRCS)

# ---------------------------------------------------------------- run
run: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tools/mkimage --oci $(BUILD)/default-oci --tag hutch/default:latest
	$(Q)$(HUTCH) image import --quiet $(BUILD)/default-oci --name hutch/default:latest
	$(Q)$(HUTCH) run --events - -- sh -c 'echo "hello from $$(hostname), pid $$$$"; id; ls /'

bench: all test-rootfs
	$(Q)HUTCH_DEPS_BENCH=1 tools/install-deps
	$(Q)bench/run-all

bench-report: all test-rootfs
	$(Q)HUTCH_DEPS_BENCH=1 tools/install-deps
	$(Q)bench/run-all --report bench/RESULTS.md

# ---------------------------------------------------------------- install
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR) \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(DATADIR)/hutch/policies
	install -m 0755 $(HUTCH) $(DESTDIR)$(BINDIR)/hutch
	install -m 0755 $(SHARED_LIB) $(DESTDIR)$(LIBDIR)/libhutch.so.$(SOVERSION)
	ln -sf libhutch.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libhutch.so
	install -m 0644 $(STATIC_LIB) $(DESTDIR)$(LIBDIR)/libhutch.a
	install -m 0644 include/hutch.h $(DESTDIR)$(INCLUDEDIR)/hutch.h
	install -m 0644 $(BUILD)/hutch.pc $(DESTDIR)$(LIBDIR)/pkgconfig/hutch.pc
	install -m 0644 src/cli/man/hutch.1 $(DESTDIR)$(MANDIR)/man1/hutch.1
	install -m 0644 src/cli/man/hutch-job.5 $(DESTDIR)$(MANDIR)/man5/hutch-job.5
	cp -R policies/. $(DESTDIR)$(DATADIR)/hutch/policies/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/hutch $(DESTDIR)$(LIBDIR)/libhutch.so* $(DESTDIR)$(LIBDIR)/libhutch.a \
		$(DESTDIR)$(INCLUDEDIR)/hutch.h $(DESTDIR)$(LIBDIR)/pkgconfig/hutch.pc \
		$(DESTDIR)$(MANDIR)/man1/hutch.1 $(DESTDIR)$(MANDIR)/man5/hutch-job.5
	rm -rf $(DESTDIR)$(DATADIR)/hutch

clean:
	rm -rf build build-asan build-fuzz

format:
	clang-format -i src/lib/*.[ch] src/cli/*.[ch] include/*.h tests/unit/*.c

format-check:
	clang-format --dry-run --Werror src/lib/*.[ch] src/cli/*.[ch] include/*.h

tidy:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance -Iinclude -Isrc/lib src/lib src/cli
