# kzones build.  One Makefile for the whole tree; the built-in guest's
# rules live beside its sources in share/guest/guest.mk.
#
#   make            programs in build/bin, guest in build/guest
#   make check      unit tests (plain and ASan/UBSan), expect tests, fuzz
#                   corpus replay; ends with "N passed, N failed"
#   make run        a demo zone (build/demo-root), booted, its console here
#   make bench      side by side with QEMU (bench/run.sh)
#   make deps       install the Debian packages all of the above need

BUILD    := build
CC       := gcc
CLANG    := clang
# Messages are built with snprintf into bounded buffers on purpose: a path
# long enough to cut a message short is still named, so truncation
# warnings are noise here.
CFLAGS   := -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wno-format-truncation \
	    -D_GNU_SOURCE \
	    -fno-strict-aliasing -Ivmm -Idebug -Izoneadm -Iconsole -Ikzsh -Igdbstub -Isavecore
LDLIBS   := -lpthread -ledit -lncursesw -lvterm -lelf -ldwarf -lcapstone
ASAN     := -fsanitize=address,undefined -fno-omit-frame-pointer \
	    -fno-sanitize-recover=undefined
PREFIX   ?= /usr/local

# Everything make check, make run and make bench need, as Debian packages.
DEB_PKGS := gcc make libc6-dev binutils libcmocka-dev expect clang \
	    libclang-rt-14-dev libedit-dev qemu-system-x86 hyperfine lz4 elfutils \
	    mandoc acpica-tools procps time \
	    libncurses-dev libvterm-dev tmux iproute2 iputils-ping gdb linux-perf \
	    libelf-dev libdwarf-dev libcapstone-dev python3

# One library of everything but the programs' mains; programs and tests
# link what they use from it.
# A program is <dir>/main_<name>.c, built as build/bin/<name>.
MAINS      := $(wildcard */main_*.c)
PROG_NAMES := $(patsubst main_%.c,%,$(notdir $(MAINS)))
VMM_SRCS   := $(filter-out $(MAINS),$(wildcard vmm/*.c debug/*.c zoneadm/*.c console/*.c kzsh/*.c gdbstub/*.c savecore/*.c))
VMM_OBJS   := $(VMM_SRCS:%.c=$(BUILD)/obj/%.o)
VMM_AOBJS  := $(VMM_SRCS:%.c=$(BUILD)/asan/obj/%.o)
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
UNIT_ABINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/asan/tests/%)
FUZZ_SRCS  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS  := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)
PROGS      := $(PROG_NAMES:%=$(BUILD)/bin/%)
APROGS     := $(PROG_NAMES:%=$(BUILD)/asan/bin/%)

.PHONY: all deps check check-linux run bench fuzz install clean
all: deps $(PROGS) guest

include share/guest/guest.mk
.PHONY: guest
guest: $(GUEST_ELF)

deps:
	@missing=""; \
	for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | \
			grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "deps: installing$$missing"; \
		sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		$$sudo apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq \
			--no-install-recommends $$missing >/dev/null || exit 1; \
	fi

HDRS       := $(wildcard vmm/*.h debug/*.h zoneadm/*.h console/*.h kzsh/*.h gdbstub/*.h savecore/*.h)

$(BUILD)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/asan/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(ASAN) -c $< -o $@

$(BUILD)/lib/libvmm.a: $(VMM_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/asan/lib/libvmm.a: $(VMM_AOBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

define prog_rule
$(BUILD)/bin/$(patsubst main_%.c,%,$(notdir $(1))): $(BUILD)/obj/$(1:.c=.o) $(BUILD)/lib/libvmm.a
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS) -o $$@ $$^ $$(LDLIBS)
$(BUILD)/asan/bin/$(patsubst main_%.c,%,$(notdir $(1))): $(BUILD)/asan/obj/$(1:.c=.o) $(BUILD)/asan/lib/libvmm.a
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS) $$(ASAN) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach m,$(MAINS),$(eval $(call prog_rule,$(m))))

# The tests' shared fakes (tests/unit/*.h) are prerequisites too.
$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/lib/libvmm.a $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/lib/libvmm.a -lcmocka $(LDLIBS)

$(BUILD)/asan/tests/%: tests/unit/%.c $(BUILD)/asan/lib/libvmm.a $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(ASAN) -o $@ $< $(BUILD)/asan/lib/libvmm.a -lcmocka $(LDLIBS)

# Fuzz targets: libFuzzer with ASan/UBSan, over the whole of libvmm.
# (struct kvm_msrs in front of its entries is the KVM idiom gcc takes
# silently; clang only notes it is a GNU extension.)
$(BUILD)/fuzz/%: tests/fuzz/%.c $(VMM_SRCS) $(HDRS)
	@mkdir -p $(dir $@)
	$(CLANG) -std=gnu11 -g -O1 -D_GNU_SOURCE -Wno-gnu-variable-sized-type-not-at-end \
		-Ivmm -Idebug -Izoneadm -Iconsole -Ikzsh -Igdbstub -Isavecore \
		-fsanitize=fuzzer,address,undefined -o $@ $< $(VMM_SRCS) $(LDLIBS)

fuzz: deps $(FUZZ_BINS)

check: all $(APROGS) $(UNIT_BINS) $(UNIT_ABINS) $(FUZZ_BINS)
	@tests/run.sh $(BUILD)

check-linux: all
	@tests/linux/check-linux.sh $(BUILD)

# make run: a demo zone under a local root, configured, installed and
# booted as needed, then its console here; ~. leaves the console for
# kzsh on the demo root, with the zone still running (zoneadm -z demo
# halt there stops it; Ctrl-D leaves kzsh).
DEMO_ROOT := $(abspath $(BUILD))/demo-root
run: all
	@bin=$(BUILD)/bin; r=$(DEMO_ROOT); \
	$$bin/zoneadm -R $$r list -c 2>/dev/null | grep -qx demo || \
		$$bin/zonecfg -R $$r -z demo "create; \
			select virtual-cpu ncpus=4; set ncpus=2; end; \
			select capped-memory physical=4G; set physical=128M; end" \
		|| exit 1; \
	st=$$($$bin/zoneadm -R $$r -z demo list -p | cut -d: -f3); \
	if [ "$$st" = configured ]; then \
		$$bin/zoneadm -R $$r -z demo install || exit 1; st=installed; \
	fi; \
	if [ "$$st" = installed ]; then \
		$$bin/zoneadm -R $$r -z demo boot || exit 1; \
	fi; \
	$$bin/zlogin -R $$r -C demo; \
	echo "make run: kzsh on $$r (help lists its commands; Ctrl-D leaves)"; \
	exec $$bin/kzsh -R $$r

bench: all
	@bench/run.sh $(BUILD)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/kzones \
		$(DESTDIR)$(PREFIX)/lib/systemd/system \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 755 $(PROGS) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(GUEST_ELF) $(DESTDIR)$(PREFIX)/share/kzones/
	for m in share/man/*.[0-9]; do \
		sec=$${m##*.}; install -d $(DESTDIR)$(PREFIX)/share/man/man$$sec; \
		install -m 644 $$m $(DESTDIR)$(PREFIX)/share/man/man$$sec/; \
	done
	for c in share/completion/*.bash; do \
		[ -f "$$c" ] || continue; \
		install -m 644 $$c $(DESTDIR)$(PREFIX)/share/bash-completion/completions/$$(basename $$c .bash); \
	done
	sed 's|@BINDIR@|$(PREFIX)/bin|g' share/systemd/kzones.service > \
		$(DESTDIR)$(PREFIX)/lib/systemd/system/kzones.service

clean:
	rm -rf $(BUILD)
