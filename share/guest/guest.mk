# kzguest, the built-in guest kernel: a Makefile fragment.
#
# Included from the top-level Makefile (paths are relative to the
# repository root), and usable alone:
#	make -f share/guest/guest.mk build/guest/kzguest.elf
# Defines GUEST_ELF and the rules to build it; every other name it defines
# starts with GUEST_ or guest- so that it cannot collide with the host
# build.  The host's CC/CFLAGS (possibly with sanitizers) are not used: the
# guest has its own GUEST_CC and GUEST_CFLAGS.
#
# The kernel is linked twice.  The first link has an empty symbol table;
# nm of it becomes .kzsyms for the second, which the linker script places
# after everything else, so no function moves (checked below).

guest_saved_goal := $(.DEFAULT_GOAL)

GUEST_DIR := share/guest
GUEST_OUT := build/guest
GUEST_ELF := $(GUEST_OUT)/kzguest.elf
GUEST_VERSION ?= 0.1
GUEST_CC ?= gcc
GUEST_NM ?= nm

GUEST_CFLAGS := -std=gnu11 -ffreestanding -fno-pic -fno-pie -mno-red-zone \
	-mcmodel=kernel -mgeneral-regs-only -fno-omit-frame-pointer \
	-fno-stack-protector -fno-asynchronous-unwind-tables \
	-fno-unwind-tables -fcf-protection=none -fno-common \
	-fno-tree-loop-distribute-patterns -g -O2 \
	-Wall -Wextra -Werror \
	-DKZ_VERSION='"$(GUEST_VERSION)"' -I$(GUEST_DIR) -MMD -MP
GUEST_ASFLAGS := -g -I$(GUEST_DIR) -MMD -MP
GUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,--build-id=none \
	-Wl,-z,max-page-size=4096 -Wl,-z,noexecstack \
	-Wl,-T,$(GUEST_DIR)/kzguest.ld

GUEST_CSRCS := main.c pvh.c uart.c printf.c msgbuf.c string.c trap.c \
	apic.c ioapic.c acpi.c smp.c shell.c panic.c \
	virtio.c blk.c net.c hvc.c
GUEST_SSRCS := entry.S trampoline.S vectors.S
GUEST_COBJS := $(GUEST_CSRCS:%.c=$(GUEST_OUT)/%.o)
GUEST_SOBJS := $(GUEST_SSRCS:%.S=$(GUEST_OUT)/%.o)
GUEST_OBJS := $(GUEST_SOBJS) $(GUEST_COBJS)
GUEST_PASS1 := $(GUEST_OUT)/kzguest.pass1.elf

$(GUEST_COBJS): $(GUEST_OUT)/%.o: $(GUEST_DIR)/%.c $(GUEST_DIR)/guest.mk
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST_CFLAGS) -c -o $@ $<

$(GUEST_SOBJS): $(GUEST_OUT)/%.o: $(GUEST_DIR)/%.S $(GUEST_DIR)/guest.mk
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST_ASFLAGS) -c -o $@ $<

$(GUEST_OUT)/syms0.S: $(GUEST_DIR)/mksyms.sh
	@mkdir -p $(@D)
	sh $(GUEST_DIR)/mksyms.sh > $@

$(GUEST_OUT)/syms.S: $(GUEST_PASS1) $(GUEST_DIR)/mksyms.sh
	NM=$(GUEST_NM) sh $(GUEST_DIR)/mksyms.sh $(GUEST_PASS1) > $@.tmp
	mv $@.tmp $@

$(GUEST_OUT)/syms0.o $(GUEST_OUT)/syms.o: %.o: %.S
	$(GUEST_CC) -c -o $@ $<

$(GUEST_PASS1): $(GUEST_OBJS) $(GUEST_OUT)/syms0.o $(GUEST_DIR)/kzguest.ld
	$(GUEST_CC) $(GUEST_LDFLAGS) -o $@ $(GUEST_OBJS) $(GUEST_OUT)/syms0.o

$(GUEST_ELF): $(GUEST_OBJS) $(GUEST_OUT)/syms.o $(GUEST_DIR)/kzguest.ld
	$(GUEST_CC) $(GUEST_LDFLAGS) -o $@.tmp $(GUEST_OBJS) $(GUEST_OUT)/syms.o
	@$(GUEST_NM) -n --defined-only $(GUEST_PASS1) | grep ' [tT] ' > $@.s1
	@$(GUEST_NM) -n --defined-only $@.tmp | grep ' [tT] ' > $@.s2
	@cmp -s $@.s1 $@.s2 || { echo "$@: functions moved in the second link" >&2; exit 1; }
	@rm -f $@.s1 $@.s2
	mv $@.tmp $@

.PHONY: guest guest-clean
guest: $(GUEST_ELF)
guest-clean:
	rm -rf $(GUEST_OUT)

-include $(GUEST_OBJS:.o=.d)

.DEFAULT_GOAL := $(guest_saved_goal)
