// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests: the 16550A UART (src/devices/serial.c), driven through its
 * bus ops with a recording irq line and output sink, including the probe
 * and interrupt sequences Linux's 8250 driver performs.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "devices/serial.h"

#define RBR 0
#define THR 0
#define DLL 0
#define IER 1
#define DLM 1
#define IIR 2
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

struct fake_irq {
	int level;
	int calls;
	int rises;
	unsigned gsi;
};

struct sink {
	uint8_t buf[8192];
	size_t len;
};

static struct fake_irq irq;
static struct sink sink;
static struct serial *s;
static int rx_ready_calls;

static void fake_irq_set(void *opaque, unsigned gsi, int level)
{
	struct fake_irq *f = opaque;

	if (level && !f->level)
		f->rises++;
	f->level = level;
	f->gsi = gsi;
	f->calls++;
}

static void sink_out(void *opaque, const uint8_t *buf, size_t len)
{
	struct sink *k = opaque;

	/* Taking the device lock here proves the sink runs unlocked. */
	(void)serial_rx_space(s);
	cr_assert_leq(k->len + len, sizeof(k->buf));
	memcpy(k->buf + k->len, buf, len);
	k->len += len;
}

static void setup(void)
{
	const struct irq_line line = { fake_irq_set, &irq, 4 };

	memset(&irq, 0, sizeof(irq));
	memset(&sink, 0, sizeof(sink));
	rx_ready_calls = 0;
	cr_assert_eq(serial_create(&line, sink_out, &sink, &s), 0);
}

static void teardown(void)
{
	serial_destroy(s);
	s = NULL;
}

TestSuite(serial, .init = setup, .fini = teardown, .timeout = 10);

static uint8_t rd_dev(struct serial *dev, unsigned off)
{
	uint8_t v = 0xee;

	serial_bus_ops.read(dev, off, &v, 1);
	return v;
}

static void wr_dev(struct serial *dev, unsigned off, uint8_t v)
{
	serial_bus_ops.write(dev, off, &v, 1);
}

static uint8_t rd(unsigned off)
{
	return rd_dev(s, off);
}

static void wr(unsigned off, uint8_t v)
{
	wr_dev(s, off, v);
}

static void input(const char *str)
{
	cr_assert_eq(serial_input(s, (const uint8_t *)str, strlen(str)), strlen(str));
}

static void fill_rx(uint8_t byte)
{
	static uint8_t buf[SERIAL_RX_SIZE];

	memset(buf, byte, sizeof(buf));
	cr_assert_eq(serial_input(s, buf, sizeof(buf)), sizeof(buf));
}

static void on_rx_ready(void *opaque)
{
	/* Taking the device lock here proves the callback runs unlocked. */
	cr_assert_eq(serial_rx_space(opaque), 1);
	rx_ready_calls++;
}

static void count_rx_ready(void *opaque)
{
	(void)serial_rx_space(opaque);
	rx_ready_calls++;
}

Test(serial, power_on_values)
{
	cr_assert_eq(rd(IER), 0);
	cr_assert_eq(rd(IIR), 0x01);
	cr_assert_eq(rd(LCR), 0);
	cr_assert_eq(rd(MCR), 0);
	cr_assert_eq(rd(LSR), 0x60, "THRE and TEMT set, no data");
	cr_assert_eq(rd(MSR), 0xb0, "host lines: DCD, DSR, CTS");
	cr_assert_eq(irq.level, 0);
	cr_assert_eq(serial_rx_space(s), SERIAL_RX_SIZE);
}

Test(serial, create_copies_irq_line_and_tolerates_null)
{
	struct serial *t;
	struct fake_irq local = { 0 };

	{
		struct irq_line stack_line = { fake_irq_set, &local, 4 };

		cr_assert_eq(serial_create(&stack_line, NULL, NULL, &t), 0);
		memset(&stack_line, 0, sizeof(stack_line));
	}
	wr_dev(t, IER, 0x02);
	cr_assert_eq(local.level, 1, "the irq line was copied at create");
	wr_dev(t, THR, 'x'); /* NULL sink: discarded */
	serial_destroy(t);
	serial_destroy(NULL);
}

Test(serial, dlab_selects_divisor_latch)
{
	wr(LCR, 0x83);
	wr(DLL, 0x0c);
	wr(DLM, 0x01);
	cr_assert_eq(rd(DLL), 0x0c);
	cr_assert_eq(rd(DLM), 0x01);
	cr_assert_eq(sink.len, 0, "a DLL write is not a transmit");
	cr_assert_eq(irq.level, 0, "a DLM write does not touch IER");
	wr(LCR, 0x03);
	cr_assert_eq(rd(LCR), 0x03);
	cr_assert_eq(rd(IER), 0);
	wr(THR, 'A');
	cr_assert_eq(sink.len, 1);
	cr_assert_eq(sink.buf[0], 'A');
	wr(LCR, 0x83);
	cr_assert_eq(rd(DLL), 0x0c, "THR write left DLL alone");
}

Test(serial, ier_keeps_low_nibble_only)
{
	wr(IER, 0xff);
	cr_assert_eq(rd(IER), 0x0f);
	wr(IER, 0x40); /* XScale UUE probe must not stick */
	cr_assert_eq(rd(IER), 0);
}

Test(serial, scratch_and_lcr_round_trip)
{
	for (unsigned v = 0; v < 256; v += 17) {
		wr(SCR, (uint8_t)v);
		cr_assert_eq(rd(SCR), v);
	}
	wr(LCR, 0x1b);
	cr_assert_eq(rd(LCR), 0x1b);
}

Test(serial, transmit_goes_to_sink)
{
	const char *msg = "hello, world\n";

	for (const char *p = msg; *p; p++)
		wr(THR, (uint8_t)*p);
	cr_assert_eq(sink.len, strlen(msg));
	cr_assert_eq(memcmp(sink.buf, msg, sink.len), 0);
	cr_assert_eq(rd(LSR) & 0x60, 0x60, "TX is instant");
}

Test(serial, loopback_as_linux_probes_it)
{
	/* autoconfig(): MCR = LOOP | OUT2 | RTS, expect MSR status DCD | CTS. */
	wr(MCR, 0x10 | 0x0a);
	cr_assert_eq(rd(MSR) & 0xf0, 0x90);
	wr(MCR, 0x10 | 0x05); /* DTR, OUT1 -> DSR, RI */
	cr_assert_eq(rd(MSR) & 0xf0, 0x60);
	wr(MCR, 0);
	cr_assert_eq(rd(MSR) & 0xf0, 0xb0);

	/* In loopback the transmitter feeds the receiver, not the sink. */
	wr(MCR, 0x10);
	wr(THR, 'z');
	cr_assert_eq(sink.len, 0);
	cr_assert_eq(rd(LSR) & 0x01, 0x01);
	cr_assert_eq(rd(RBR), 'z');
	cr_assert_eq(rd(LSR) & 0x01, 0);
	wr(MCR, 0);
	wr(THR, 'y');
	cr_assert_eq(sink.len, 1);
}

Test(serial, linux_autoconfig_sees_16550a)
{
	uint8_t save_lcr, scratch2, scratch3, status1, status2;

	/* IER read-back test. */
	wr(IER, 0);
	scratch2 = rd(IER) & 0x0f;
	wr(IER, 0x0f);
	scratch3 = rd(IER) & 0x0f;
	wr(IER, 0);
	cr_assert_eq(scratch2, 0);
	cr_assert_eq(scratch3, 0x0f);

	/* Loopback test. */
	wr(MCR, 0x1a);
	cr_assert_eq(rd(MSR) & 0xf0, 0x90);
	wr(MCR, 0);

	save_lcr = rd(LCR);
	wr(LCR, 0xbf);
	wr(2, 0); /* EFR on 16650s; FCR here */
	wr(LCR, 0);
	wr(FCR, 0x01);
	cr_assert_eq(rd(IIR) >> 6, 3, "FIFO bits: 16550A");

	/* autoconfig_16550a(): no EFR with DLAB set, with LCR 0xBF either. */
	wr(LCR, 0x80);
	cr_assert_neq(rd(2), 0);
	wr(LCR, 0xbf);
	cr_assert_neq(rd(2), 0);

	/* Not an NS16550A SuperIO: the "EXCR1" read must not track MCR.LOOP. */
	wr(LCR, 0);
	status1 = rd(MCR);
	wr(LCR, 0xe0);
	status2 = rd(2);
	cr_assert_eq((status1 ^ status2) & 0x10, 0);
	wr(LCR, 0);
	wr(MCR, status1 ^ 0x10);
	wr(LCR, 0xe0);
	status2 = rd(2);
	wr(LCR, 0);
	wr(MCR, status1);
	cr_assert_eq((status1 ^ status2) & 0x10, 0);

	/* Not a TI16750: IIR bit 5 never follows FCR bit 5. */
	wr(LCR, 0);
	wr(FCR, 0x21);
	status1 = rd(IIR) >> 5;
	wr(FCR, 0x01);
	wr(LCR, 0x80);
	wr(FCR, 0x21);
	status2 = rd(IIR) >> 5;
	wr(FCR, 0x01);
	wr(LCR, 0);
	cr_assert_eq(status1, 6);
	cr_assert_eq(status2, 6);

	wr(LCR, save_lcr);
	wr(FCR, 0x01);
	wr(FCR, 0x07);
	wr(FCR, 0);
	cr_assert_eq(rd(IIR), 0x01);
	cr_assert_neq(rd(LSR), 0xff, "LSR safety check");
	cr_assert_eq(irq.level, 0);
}

Test(serial, fifo_enable_and_clear)
{
	wr(FCR, 0x01);
	cr_assert_eq(rd(IIR) & 0xc0, 0xc0);
	input("abc");
	wr(FCR, 0x03); /* clear RX */
	cr_assert_eq(rd(LSR) & 0x01, 0);
	cr_assert_eq(serial_rx_space(s), SERIAL_RX_SIZE);

	input("abc");
	wr(FCR, 0x00); /* disabling the FIFO clears it */
	cr_assert_eq(rd(IIR) & 0xc0, 0);
	cr_assert_eq(rd(LSR) & 0x01, 0);

	input("abc");
	wr(FCR, 0x02); /* FCR0 = 0: the clear bit is not programmed */
	cr_assert_eq(rd(LSR) & 0x01, 1);
	wr(FCR, 0x01); /* enabling clears too */
	cr_assert_eq(rd(LSR) & 0x01, 0);

	input("abc");
	wr(FCR, 0x05); /* TX clear only: RX survives */
	cr_assert_eq(rd(RBR), 'a');
}

Test(serial, rx_interrupt_raised_and_cleared_when_drained)
{
	wr(IER, 0x01);
	cr_assert_eq(irq.level, 0);
	input("ab");
	cr_assert_eq(irq.level, 1);
	cr_assert_eq(rd(IIR), 0x04);
	cr_assert_eq(rd(LSR), 0x61);
	cr_assert_eq(rd(RBR), 'a');
	cr_assert_eq(irq.level, 1);
	cr_assert_eq(rd(RBR), 'b');
	cr_assert_eq(irq.level, 0);
	cr_assert_eq(rd(IIR), 0x01);
	cr_assert_eq(rd(LSR), 0x60);
	cr_assert_eq(rd(RBR), 0, "empty RBR reads 0");
	wr(IER, 0);
	input("c");
	cr_assert_eq(irq.level, 0, "ERBFI off: no interrupt");
	cr_assert_eq(irq.gsi, 4);
}

Test(serial, rx_fifo_trigger_level)
{
	wr(FCR, 0xc1); /* trigger at 14 */
	wr(IER, 0x01);
	input("0123456789abc");
	cr_assert_eq(rd(IIR), 0xcc, "below the trigger: character timeout");
	input("d");
	cr_assert_eq(rd(IIR), 0xc4, "at the trigger: data available");
	wr(FCR, 0x01); /* re-writing FCR0=1 keeps data; trigger 1 */
	cr_assert_eq(rd(IIR), 0xc4);
}

Test(serial, thre_interrupt_linux_startup_sequence)
{
	uint8_t iir1, iir2, lsr;

	/* serial8250_do_startup(): the THRE re-assert test. */
	wr(IER, 0x02);
	cr_assert_eq(irq.level, 1);
	iir1 = rd(IIR);
	cr_assert_eq(irq.level, 0, "reading IIR cleared THRE");
	wr(IER, 0);
	wr(IER, 0x02);
	cr_assert_eq(irq.level, 1, "ETBEI 0->1 with THR empty re-raises");
	iir2 = rd(IIR);
	wr(IER, 0);
	cr_assert_eq(iir1 & 0x0f, 0x02);
	cr_assert_eq(iir2 & 0x0f, 0x02);
	cr_assert_eq(irq.level, 0);

	/* The TXEN test: enabling THRI must produce an interrupt. */
	wr(LCR, 0x03);
	wr(MCR, 0x0b);
	wr(IER, 0x02);
	lsr = rd(LSR);
	iir1 = rd(IIR);
	wr(IER, 0);
	cr_assert(lsr & 0x40);
	cr_assert_eq(iir1 & 0x01, 0, "no UART_BUG_TXEN");

	/* Second read of IIR: the THRE source was consumed. */
	wr(IER, 0x02);
	cr_assert_eq(rd(IIR), 0x02);
	cr_assert_eq(rd(IIR), 0x01);
	wr(IER, 0);
}

Test(serial, thre_interrupt_transmit_path)
{
	const char *msg = "0123456789abcdefXYZ";
	size_t sent = 0;
	int rises;

	wr(IER, 0x05); /* RLSI | RDI, as after startup */
	cr_assert_eq(irq.level, 0);
	/* start_tx(): set THRI; the interrupt arrives at once. */
	wr(IER, 0x07);
	cr_assert_eq(irq.level, 1);
	rises = irq.rises;
	/* Handler: IIR says THRE (cleared by the read), LSR.THRE, up to 16 bytes. */
	while (sent < strlen(msg)) {
		cr_assert_eq(rd(IIR), 0x02);
		cr_assert_eq(irq.level, 0);
		cr_assert(rd(LSR) & 0x20);
		for (unsigned n = 0; n < 16 && sent < strlen(msg); n++)
			wr(THR, (uint8_t)msg[sent++]);
		/* THR emptied again: THRE is pending once more. */
		cr_assert_eq(irq.level, 1);
	}
	cr_assert_eq(irq.rises, rises + 2, "each handler pass ends with a fresh edge");
	/* Transmit buffer empty: __stop_tx() clears THRI and the line drops. */
	wr(IER, 0x05);
	cr_assert_eq(irq.level, 0);
	cr_assert_eq(rd(IIR), 0x01);
	cr_assert_eq(sink.len, strlen(msg));
	cr_assert_eq(memcmp(sink.buf, msg, sink.len), 0);
}

Test(serial, thr_write_clears_then_rearms_thre)
{
	wr(IER, 0x02);
	cr_assert_eq(rd(IIR), 0x02);
	cr_assert_eq(rd(IIR), 0x01);
	wr(THR, 'q');
	cr_assert_eq(rd(IIR), 0x02, "THR emptied after the write");
	wr(IER, 0);
	wr(THR, 'r');
	cr_assert_eq(rd(IIR), 0x01, "ETBEI off: THRE not reported");
	cr_assert_eq(irq.level, 0);
}

Test(serial, iir_priorities)
{
	fill_rx('a');
	wr(MCR, 0x10); /* loopback: lines drop, MSR deltas latch */
	wr(THR, 'x');  /* receive buffer full: overrun */
	wr(MCR, 0x00);
	wr(IER, 0x0f);
	cr_assert_eq(irq.level, 1);

	cr_assert_eq(rd(IIR), 0x06, "receiver line status first");
	cr_assert_eq(rd(IIR), 0x06, "IIR read does not clear line status");
	cr_assert_eq(rd(LSR), 0x63, "OE | DR | THRE | TEMT");
	cr_assert_eq(rd(LSR), 0x61, "OE clears on read");
	cr_assert_eq(rd(IIR), 0x04, "then received data");
	for (unsigned i = 0; i < SERIAL_RX_SIZE; i++)
		cr_assert_eq(rd(RBR), 'a');
	cr_assert_eq(rd(IIR), 0x02, "then THR empty");
	cr_assert_eq(rd(IIR), 0x00, "then modem status");
	cr_assert_eq(irq.level, 1);
	cr_assert_eq(rd(MSR), 0xb0 | 0x0b, "DCTS | DDSR | DDCD");
	cr_assert_eq(rd(MSR), 0xb0, "deltas clear on read");
	cr_assert_eq(rd(IIR), 0x01);
	cr_assert_eq(irq.level, 0);
}

Test(serial, modem_status_interrupt_and_teri)
{
	wr(MCR, 0x14); /* loopback with OUT1: RI on */
	(void)rd(MSR);
	wr(IER, 0x08);
	cr_assert_eq(irq.level, 0);
	wr(MCR, 0x10); /* RI trailing edge */
	cr_assert_eq(irq.level, 1);
	cr_assert_eq(rd(IIR), 0x00);
	cr_assert_eq(rd(MSR), 0x04);
	cr_assert_eq(irq.level, 0);
	wr(MCR, 0x14); /* RI leading edge: no TERI */
	cr_assert_eq(rd(MSR), 0x40);
	cr_assert_eq(irq.level, 0);
}

Test(serial, rx_full_accepts_less)
{
	static uint8_t big[SERIAL_RX_SIZE + 100];

	memset(big, 'k', sizeof(big));
	cr_assert_eq(serial_input(s, big, sizeof(big)), SERIAL_RX_SIZE);
	cr_assert_eq(serial_rx_space(s), 0);
	cr_assert_eq(serial_input(s, big, 1), 0);
	cr_assert_eq(serial_input(s, big, 0), 0);
	cr_assert_eq(serial_input(s, NULL, 0), 0);
	cr_assert_eq(rd(RBR), 'k');
	cr_assert_eq(serial_rx_space(s), 1);
	cr_assert_eq(serial_input(s, (const uint8_t *)"Z", 1), 1);
	/* The ring wrapped: the last byte comes out last. */
	for (unsigned i = 0; i < SERIAL_RX_SIZE - 1; i++)
		cr_assert_eq(rd(RBR), 'k');
	cr_assert_eq(rd(RBR), 'Z');
	cr_assert_eq(rd(LSR) & 0x03, 0, "nothing dropped, no overrun");
}

Test(serial, rx_ready_fires_after_read_frees_space)
{
	serial_set_rx_ready(s, on_rx_ready, s);
	input("xy");
	(void)rd(RBR);
	(void)rd(RBR);
	cr_assert_eq(rx_ready_calls, 0, "the buffer was never full");

	fill_rx('f');
	cr_assert_eq(serial_rx_space(s), 0);
	cr_assert_eq(rx_ready_calls, 0);
	(void)rd(RBR);
	cr_assert_eq(rx_ready_calls, 1);
	(void)rd(RBR);
	cr_assert_eq(rx_ready_calls, 1, "only on the full -> not full transition");
}

Test(serial, rx_ready_fires_when_fifo_clear_frees_space)
{
	serial_set_rx_ready(s, count_rx_ready, s);
	fill_rx('f');
	wr(FCR, 0x03);
	cr_assert_eq(rx_ready_calls, 1);
	serial_set_rx_ready(s, NULL, NULL);
	fill_rx('f');
	(void)rd(RBR);
	cr_assert_eq(rx_ready_calls, 1, "disabled");
}

Test(serial, bad_accesses_are_ignored)
{
	uint8_t buf[4] = { 0 };
	uint32_t w = 0x41414141;

	serial_bus_ops.read(s, 0, buf, 2);
	cr_assert_eq(buf[0], 0xff);
	cr_assert_eq(buf[1], 0xff);
	serial_bus_ops.write(s, 0, &w, 4);
	serial_bus_ops.write(s, 8, &w, 1);
	serial_bus_ops.read(s, 9, buf, 1);
	cr_assert_eq(buf[0], 0xff);
	cr_assert_eq(sink.len, 0);
	wr(LSR, 0x00);
	wr(MSR, 0x00);
	cr_assert_eq(rd(LSR), 0x60, "LSR is read-only");
	cr_assert_eq(rd(MSR), 0xb0, "MSR is read-only");
}

static void build_interesting_state(void)
{
	static uint8_t junk[SERIAL_RX_SIZE - 10];

	wr(LCR, 0x80);
	wr(DLL, 0x0c);
	wr(DLM, 0x02);
	wr(LCR, 0x1b);
	wr(SCR, 0x5a);
	wr(FCR, 0x81);
	/* Move the ring head so the buffer wraps. */
	memset(junk, 'j', sizeof(junk));
	cr_assert_eq(serial_input(s, junk, sizeof(junk)), sizeof(junk));
	for (size_t i = 0; i < sizeof(junk); i++)
		(void)rd(RBR);
	input("wrapped around the ring!");
	wr(MCR, 0x1b);
	wr(IER, 0x0b);
}

Test(serial, save_restore_save_is_identical)
{
	static struct serial_state a, b, c;
	struct fake_irq irq2 = { 0 };
	const struct irq_line line2 = { fake_irq_set, &irq2, 4 };
	struct serial *t;

	build_interesting_state();
	serial_save(s, &a);
	cr_assert_eq(serial_create(&line2, sink_out, &sink, &t), 0);
	cr_assert_eq(serial_restore(t, &a), 0);
	serial_save(t, &b);
	cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0);
	cr_assert_eq(irq2.level, irq.level, "restore drives the line");
	cr_assert_eq(irq2.level, 1);
	cr_assert_gt(irq2.calls, 0);

	/* Behaviour matches the original, register by register. */
	cr_assert_eq(rd_dev(t, LCR), 0x1b);
	cr_assert_eq(rd_dev(t, SCR), 0x5a);
	cr_assert_eq(rd_dev(t, IER), 0x0b);
	cr_assert_eq(rd_dev(t, MCR), 0x1b);
	cr_assert_eq(rd_dev(t, IIR), rd(IIR));
	cr_assert_eq(rd_dev(t, MSR), rd(MSR));
	for (const char *p = "wrapped around the ring!"; *p; p++) {
		cr_assert_eq(rd_dev(t, RBR), (uint8_t)*p);
		cr_assert_eq(rd(RBR), (uint8_t)*p);
	}
	cr_assert_eq(rd_dev(t, LSR), rd(LSR));
	wr_dev(t, LCR, 0x9b);
	cr_assert_eq(rd_dev(t, DLL), 0x0c);
	cr_assert_eq(rd_dev(t, DLM), 0x02);
	wr_dev(t, LCR, 0x1b);

	/* And a state saved after both ran on stays identical. */
	serial_save(s, &b);
	serial_save(t, &c);
	cr_assert_eq(memcmp(&b, &c, sizeof(b)), 0);
	serial_destroy(t);
}

Test(serial, save_restore_full_buffer_and_pending_thre)
{
	static struct serial_state a, b;
	struct serial *t;

	fill_rx('q');
	wr(IER, 0x02);
	serial_save(s, &a);
	cr_assert_eq(a.rx_len, SERIAL_RX_SIZE);
	cr_assert_eq(a.thr_ipending, 1);
	cr_assert_eq(serial_create(NULL, NULL, NULL, &t), 0);
	cr_assert_eq(serial_restore(t, &a), 0);
	serial_save(t, &b);
	cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0);
	cr_assert_eq(serial_rx_space(t), 0);
	serial_set_rx_ready(t, count_rx_ready, t);
	(void)rd_dev(t, RBR);
	cr_assert_eq(rx_ready_calls, 1, "a restored full buffer still wakes the reader");
	serial_destroy(t);
}

Test(serial, restore_rejects_malformed_state)
{
	static struct serial_state good, bad;

	input("abc");
	serial_save(s, &good);

	bad = good;
	bad.rx_len = SERIAL_RX_SIZE + 1;
	cr_assert_eq(serial_restore(s, &bad), -EINVAL);
	bad = good;
	bad.ier = 0x10;
	cr_assert_eq(serial_restore(s, &bad), -EINVAL);
	bad = good;
	bad.fcr = 0x02;
	cr_assert_eq(serial_restore(s, &bad), -EINVAL);
	bad = good;
	bad.thr_ipending = 1; /* without ETBEI */
	cr_assert_eq(serial_restore(s, &bad), -EINVAL);
	bad = good;
	bad.msr = 0x00; /* lines disagree with MCR */
	cr_assert_eq(serial_restore(s, &bad), -EINVAL);
	bad = good;
	bad.rx[100] = 1; /* beyond rx_len */
	cr_assert_eq(serial_restore(s, &bad), -EINVAL);
	bad = good;
	bad.reserved[1] = 1;
	cr_assert_eq(serial_restore(s, &bad), -EINVAL);

	/* Nothing changed. */
	cr_assert_eq(rd(RBR), 'a');
}
