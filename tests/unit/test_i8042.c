// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests: the i8042 reset path (src/devices/i8042.c) and the boot-timer
 * port (src/devices/boot_timer.c), the two stateless legacy ports.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "devices/boot_timer.h"
#include "devices/i8042.h"

#define DATA 0
#define CMD 4

static int resets;
static struct i8042 *kbc;

static void on_reset(void *opaque)
{
	cr_assert_eq(opaque, &resets);
	resets++;
}

static void setup(void)
{
	resets = 0;
	cr_assert_eq(i8042_create(on_reset, &resets, &kbc), 0);
}

static void teardown(void)
{
	i8042_destroy(kbc);
	kbc = NULL;
}

TestSuite(i8042, .init = setup, .fini = teardown, .timeout = 10);

static void wr(unsigned off, uint8_t v)
{
	i8042_bus_ops.write(kbc, off, &v, 1);
}

static uint8_t rd(unsigned off)
{
	uint8_t v = 0xee;

	i8042_bus_ops.read(kbc, off, &v, 1);
	return v;
}

Test(i8042, fe_pulses_reset)
{
	/* Linux's reboot=k: kb_wait() (status bit 1 clear), then 0xFE to 0x64. */
	cr_assert_eq(rd(CMD) & 0x02, 0);
	wr(CMD, 0xfe);
	cr_assert_eq(resets, 1);
	wr(CMD, 0xfe);
	cr_assert_eq(resets, 2);
}

Test(i8042, other_commands_do_nothing)
{
	static const uint8_t cmds[] = { 0x20, 0x60, 0xa7, 0xa8, 0xaa, 0xab,
					0xad, 0xae, 0xd1, 0xd4, 0xf0, 0xff };

	for (size_t i = 0; i < sizeof(cmds); i++)
		wr(CMD, cmds[i]);
	wr(DATA, 0xfe); /* 0xFE on the data port is keyboard data, not a command */
	cr_assert_eq(resets, 0);
}

Test(i8042, status_and_data_read_zero)
{
	cr_assert_eq(rd(CMD), 0, "no output, input buffer empty");
	cr_assert_eq(rd(DATA), 0);
	wr(CMD, 0xaa); /* self-test: there is no reply to wait for */
	cr_assert_eq(rd(CMD) & 0x01, 0);
}

Test(i8042, bad_accesses_are_ignored)
{
	uint8_t v[2] = { 0xfe, 0xfe };

	i8042_bus_ops.write(kbc, CMD, v, 2);
	i8042_bus_ops.write(kbc, 1, v, 1);
	i8042_bus_ops.write(kbc, 5, v, 1);
	cr_assert_eq(resets, 0);
	i8042_bus_ops.read(kbc, 2, v, 1);
	cr_assert_eq(v[0], 0xff);
	i8042_bus_ops.read(kbc, DATA, v, 2);
	cr_assert_eq(v[1], 0xff);
}

Test(i8042, null_reset_and_destroy_are_safe)
{
	struct i8042 *k;
	uint8_t v = 0xfe;

	cr_assert_eq(i8042_create(NULL, NULL, &k), 0);
	i8042_bus_ops.write(k, CMD, &v, 1);
	i8042_destroy(k);
	i8042_destroy(NULL);
}

Test(i8042, save_restore_save_is_identical)
{
	struct i8042_state a, b;
	struct i8042 *k;

	memset(&a, 0xaa, sizeof(a));
	i8042_save(kbc, &a);
	cr_assert_eq(i8042_create(on_reset, &resets, &k), 0);
	cr_assert_eq(i8042_restore(k, &a), 0);
	memset(&b, 0x55, sizeof(b));
	i8042_save(k, &b);
	cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0);
	i8042_bus_ops.write(k, CMD, &(uint8_t){ 0xfe }, 1);
	cr_assert_eq(resets, 1, "the restored controller still resets");
	a.reserved[0] = 1;
	cr_assert_eq(i8042_restore(k, &a), -EINVAL);
	i8042_destroy(k);
}

/* ---- boot timer ---- */

static uint8_t bt_values[8];
static int bt_calls;

static void on_boot_timer(void *opaque, uint8_t value)
{
	cr_assert_eq(opaque, &bt_calls);
	if (bt_calls < (int)sizeof(bt_values))
		bt_values[bt_calls] = value;
	bt_calls++;
}

Test(boot_timer, write_calls_back_with_value)
{
	struct boot_timer *bt;
	uint8_t v;

	bt_calls = 0;
	cr_assert_eq(boot_timer_create(on_boot_timer, &bt_calls, &bt), 0);
	v = 0x7b;
	boot_timer_bus_ops.write(bt, 0, &v, 1);
	v = 0x01;
	boot_timer_bus_ops.write(bt, 0, &v, 1);
	cr_assert_eq(bt_calls, 2);
	cr_assert_eq(bt_values[0], 0x7b);
	cr_assert_eq(bt_values[1], 0x01);
	v = 0xee;
	boot_timer_bus_ops.read(bt, 0, &v, 1);
	cr_assert_eq(v, 0);
	boot_timer_destroy(bt);
	boot_timer_destroy(NULL);
}

Test(boot_timer, bad_accesses_are_ignored)
{
	struct boot_timer *bt;
	uint8_t v[4] = { 0x7b, 0x7b, 0x7b, 0x7b };

	bt_calls = 0;
	cr_assert_eq(boot_timer_create(on_boot_timer, &bt_calls, &bt), 0);
	boot_timer_bus_ops.write(bt, 0, v, 4);
	boot_timer_bus_ops.write(bt, 1, v, 1);
	cr_assert_eq(bt_calls, 0);
	boot_timer_bus_ops.read(bt, 0, v, 2);
	cr_assert_eq(v[0], 0xff);
	boot_timer_destroy(bt);
}

Test(boot_timer, save_restore_save_is_identical)
{
	struct boot_timer_state a, b;
	struct boot_timer *bt;

	bt_calls = 0;
	cr_assert_eq(boot_timer_create(on_boot_timer, &bt_calls, &bt), 0);
	memset(&a, 0xaa, sizeof(a));
	boot_timer_save(bt, &a);
	cr_assert_eq(boot_timer_restore(bt, &a), 0);
	memset(&b, 0x55, sizeof(b));
	boot_timer_save(bt, &b);
	cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0);
	boot_timer_bus_ops.write(bt, 0, &(uint8_t){ 0x7b }, 1);
	cr_assert_eq(bt_calls, 1);
	a.reserved[7] = 1;
	cr_assert_eq(boot_timer_restore(bt, &a), -EINVAL);
	boot_timer_destroy(bt);
}
