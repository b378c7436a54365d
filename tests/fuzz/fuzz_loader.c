// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target: arbitrary bytes as a kernel image for loader_load()
 * (bzImage and ELF vmlinux paths).  It must never crash, and never write
 * outside guest memory: the slack around the guest mapping is made
 * PROT_NONE so a stray write faults, and ASan watches everything else.
 * On success the placement invariants are checked.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "arch/x86/e820.h"
#include "arch/x86/layout.h"
#include "boot/loader.h"
#include "lib/util.h"
#include "vmm/mem.h"

#define RAM (64 * MiB)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct guest_mem gm;
static struct e820_entry e820[E820_MAX];
static unsigned e820_nr;
static uint8_t initrd[8192];

static void guard(void *start, void *end)
{
	if ((uint8_t *)end > (uint8_t *)start &&
	    mprotect(start, (size_t)((uint8_t *)end - (uint8_t *)start), PROT_NONE))
		__builtin_trap();
}

static void setup(void)
{
	uint8_t *raw_end;

	if (gm_init(&gm, RAM, 0))
		__builtin_trap();
	raw_end = (uint8_t *)gm.map_raw + gm.map_raw_len;
	guard(gm.map_raw, gm.map);
	guard(gm.map + gm.map_len, raw_end);
	e820_nr = e820_build(&gm, e820, E820_MAX);
	memset(initrd, 0x5a, sizeof(initrd));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct boot_setup in = {
		.cmdline = "console=ttyS0 panic=-1",
		.initrd = initrd,
		.initrd_size = sizeof(initrd),
		.rsdp = LAYOUT_ACPI,
		.e820 = e820,
		.e820_nr = e820_nr,
	};
	struct boot_entry out;

	if (!ready) {
		setup();
		ready = true;
		in.e820_nr = e820_nr;
	}
	if (loader_load(&gm, data, size, &in, &out))
		return 0;
	/* Loaded: the boot info and the initrd are in RAM, and the initrd misses the kernel. */
	if (out.boot_info != (out.mode == BOOT_ENTRY_PVH32 ? LAYOUT_PVH_INFO : LAYOUT_ZERO_PAGE))
		__builtin_trap();
	if (!gm_ptr(&gm, out.initrd_addr, sizeof(initrd)) || out.initrd_addr % 4096)
		__builtin_trap();
	if (out.initrd_addr < out.kernel_end && out.initrd_addr + sizeof(initrd) > out.kernel_start)
		__builtin_trap();
	if (memcmp(gm_ptr(&gm, out.initrd_addr, sizeof(initrd)), initrd, sizeof(initrd)))
		__builtin_trap();
	return 0;
}
