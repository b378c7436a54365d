// SPDX-License-Identifier: Apache-2.0
/*
 * 16550A UART (see serial.h): the eight registers with DLAB, the FIFO control
 * bits, loopback, the four-level interrupt identification and the receive
 * buffer behind the FIFO.  Register numbers, bit names and priorities follow
 * the National Semiconductor PC16550D datasheet ("PC16550D" below).  Bus
 * handlers run on vCPU threads, serial_input() on the event loop; s->lock
 * covers every field.  The irq line is driven with the lock held, so levels
 * reach it in the order the device produced them; the output sink (which
 * may block on a slow terminal) and the rx-ready callback run after
 * unlocking, so the event loop never waits on a vCPU's write(2).
 */
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#define LOG_TAG "serial"
#include "lib/log.h"
#include "lib/util.h"
#include "serial.h"

/* Register offsets (PC16550D section 8, "Registers"). */
#define REG_RBR 0 /* read, DLAB=0 */
#define REG_THR 0 /* write, DLAB=0 */
#define REG_IER 1 /* DLAB=0; DLM with DLAB=1 */
#define REG_IIR 2 /* read */
#define REG_FCR 2 /* write */
#define REG_LCR 3
#define REG_MCR 4
#define REG_LSR 5
#define REG_MSR 6
#define REG_SCR 7

#define IER_ERBFI 0x01 /* received data available */
#define IER_ETBEI 0x02 /* transmitter holding register empty */
#define IER_ELSI 0x04  /* receiver line status */
#define IER_EDSSI 0x08 /* modem status */
#define IER_MASK 0x0f  /* bits 4-7 are always 0 on a 16550A */

#define IIR_NO_INT 0x01
#define IIR_MSI 0x00
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_RLSI 0x06
#define IIR_CTI 0x0c
#define IIR_ID_MASK 0x0f
#define IIR_FIFO_ENABLED 0xc0

#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define FCR_CLEAR_TX 0x04
#define FCR_DMA 0x08
#define FCR_TRIGGER_SHIFT 6
#define FCR_STORED (FCR_ENABLE | FCR_DMA | 0xc0)

#define LCR_DLAB 0x80

#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_PE 0x04
#define LSR_FE 0x08
#define LSR_BI 0x10
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define LSR_ERRORS (LSR_OE | LSR_PE | LSR_FE | LSR_BI)

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_DELTAS 0x0f
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80
#define MSR_LINES 0xf0

/*
 * The host end of the line is always ready: carrier, data set ready and
 * clear to send asserted, no ring.  Guests using CRTSCTS can then transmit.
 */
#define MSR_HOST_LINES (MSR_DCD | MSR_DSR | MSR_CTS)

/* Divisor 1: 115200 baud from the PC's 1.8432 MHz clock (base_baud 115200). */
#define DEFAULT_DLL 0x01

struct serial {
	pthread_mutex_t lock;
	struct irq_line irq;
	serial_out_fn out;
	void *out_opaque;
	void (*rx_ready)(void *opaque);
	void *rx_ready_opaque;

	uint8_t ier;
	uint8_t lcr;
	uint8_t mcr;
	uint8_t lsr; /* sticky error bits; DR/THRE/TEMT are computed on read */
	uint8_t msr;
	uint8_t scr;
	uint8_t dll;
	uint8_t dlm;
	uint8_t fcr;
	/* THRE interrupt latched; invariant: only ever true while IER.ETBEI is set. */
	bool thr_ipending;
	bool rx_was_full; /* the buffer filled up: tell rx_ready when it drains */
	int irq_level;	  /* what the irq line was last driven to */

	size_t rx_head;
	size_t rx_len;
	uint8_t rx[SERIAL_RX_SIZE];
};

/*
 * Work a register access leaves for after the unlock: callbacks that may
 * block (output to a slow terminal) or take other locks.
 */
struct deferred {
	bool rx_ready; /* the receive buffer went from full to having space */
	bool tx;       /* tx_byte goes to the output sink */
	uint8_t tx_byte;
};

/* FIFO receive trigger levels, FCR bits 7:6 (PC16550D, FIFO Control Register). */
static const uint8_t rx_trigger[4] = { 1, 4, 8, 14 };

/* ---- interrupt identification ---- */

/*
 * IIR without side effects.  Priority (PC16550D table IV): receiver line
 * status, then received data available (or character timeout below the
 * trigger level), then THR empty, then modem status.
 */
static uint8_t iir_value(const struct serial *s)
{
	uint8_t fifo = (s->fcr & FCR_ENABLE) ? IIR_FIFO_ENABLED : 0;

	if ((s->ier & IER_ELSI) && (s->lsr & LSR_ERRORS))
		return fifo | IIR_RLSI;
	if ((s->ier & IER_ERBFI) && s->rx_len) {
		/*
		 * In FIFO mode data below the trigger level is reported by the
		 * character timeout after four character times; there is no
		 * line timing here, so the timeout is immediate.
		 */
		if (fifo && s->rx_len < rx_trigger[s->fcr >> FCR_TRIGGER_SHIFT])
			return fifo | IIR_CTI;
		return fifo | IIR_RDI;
	}
	if ((s->ier & IER_ETBEI) && s->thr_ipending)
		return fifo | IIR_THRI;
	if ((s->ier & IER_EDSSI) && (s->msr & MSR_DELTAS))
		return fifo | IIR_MSI;
	return fifo | IIR_NO_INT;
}

/*
 * Drive the line to "an interrupt is identified".  Only changes are passed
 * on: Linux's 8250 handler reads IIR until it says no interrupt, which
 * lowers the line, so every new event is a fresh rising edge.
 */
static void update_irq(struct serial *s)
{
	int level = !(iir_value(s) & IIR_NO_INT);

	if (level != s->irq_level) {
		s->irq_level = level;
		irq_line_set(&s->irq, level);
	}
}

/* ---- receive buffer ---- */

static void rx_push(struct serial *s, uint8_t v)
{
	if (s->rx_len == SERIAL_RX_SIZE) {
		/* PC16550D: a character arriving with the FIFO full is an overrun. */
		s->lsr |= LSR_OE;
		return;
	}
	s->rx[(s->rx_head + s->rx_len) % SERIAL_RX_SIZE] = v;
	if (++s->rx_len == SERIAL_RX_SIZE)
		s->rx_was_full = true;
}

/* Space appeared: the caller runs rx_ready after unlocking. */
static void rx_freed(struct serial *s, struct deferred *d)
{
	if (s->rx_was_full) {
		s->rx_was_full = false;
		d->rx_ready = true;
	}
}

static uint8_t rx_pop(struct serial *s, struct deferred *d)
{
	uint8_t v;

	/* An empty RBR reads 0; nothing in Linux reads it without LSR.DR. */
	if (!s->rx_len)
		return 0;
	v = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % SERIAL_RX_SIZE;
	s->rx_len--;
	rx_freed(s, d);
	return v;
}

static void rx_clear(struct serial *s, struct deferred *d)
{
	if (s->rx_len)
		rx_freed(s, d);
	s->rx_head = 0;
	s->rx_len = 0;
}

/* ---- register semantics ---- */

/* The modem status inputs: the host's lines, or MCR looped back (PC16550D, MCR bit 4). */
static uint8_t msr_lines(uint8_t mcr)
{
	uint8_t m = 0;

	if (!(mcr & MCR_LOOP))
		return MSR_HOST_LINES;
	if (mcr & MCR_RTS)
		m |= MSR_CTS;
	if (mcr & MCR_DTR)
		m |= MSR_DSR;
	if (mcr & MCR_OUT1)
		m |= MSR_RI;
	if (mcr & MCR_OUT2)
		m |= MSR_DCD;
	return m;
}

/* New modem inputs: latch the delta bits MSR 0-3 describe (TERI: RI trailing edge only). */
static void set_msr_lines(struct serial *s, uint8_t lines)
{
	uint8_t changed = (s->msr ^ lines) & MSR_LINES;
	uint8_t delta = s->msr & MSR_DELTAS;

	if (changed & MSR_CTS)
		delta |= MSR_DCTS;
	if (changed & MSR_DSR)
		delta |= MSR_DDSR;
	if ((changed & MSR_RI) && !(lines & MSR_RI))
		delta |= MSR_TERI;
	if (changed & MSR_DCD)
		delta |= MSR_DDCD;
	s->msr = lines | delta;
}

static void set_ier(struct serial *s, uint8_t v)
{
	uint8_t changed = s->ier ^ v;

	s->ier = v;
	/*
	 * Enabling ETBEI while THR is empty (it always is: TX is instant)
	 * raises the THRE interrupt at once; Linux's 8250 startup checks
	 * exactly this by toggling IER.THRI and reading IIR twice.  Disabling
	 * it drops the latch so the invariant "pending only while enabled"
	 * holds.
	 */
	if (changed & IER_ETBEI)
		s->thr_ipending = (v & IER_ETBEI) != 0;
}

static void transmit(struct serial *s, uint8_t v, struct deferred *d)
{
	/* Writing THR clears the THRE interrupt (PC16550D table IV, reset control). */
	s->thr_ipending = false;
	if (s->mcr & MCR_LOOP) {
		rx_push(s, v); /* loopback: the transmitter feeds the receiver */
	} else {
		d->tx = true;
		d->tx_byte = v;
	}
	/* The byte left at once, so THR is empty again and THRE is raised anew. */
	s->thr_ipending = (s->ier & IER_ETBEI) != 0;
}

static void write_fcr(struct serial *s, uint8_t v, struct deferred *d)
{
	/* PC16550D: FCR0 must be 1 for the other FCR bits to be programmed. */
	uint8_t fcr = (v & FCR_ENABLE) ? (v & FCR_STORED) : 0;

	/*
	 * Changing FCR0 clears both FIFOs, and so does the receiver reset bit.
	 * The whole receive buffer goes: the guest asked to discard stale
	 * input (Linux does so when it opens the port).  The transmit FIFO is
	 * always empty, so FCR_CLEAR_TX has nothing to do.
	 */
	if (((fcr ^ s->fcr) & FCR_ENABLE) || (fcr && (v & FCR_CLEAR_RX)))
		rx_clear(s, d);
	s->fcr = fcr;
}

static uint8_t reg_read(struct serial *s, unsigned reg, struct deferred *d)
{
	bool dlab = s->lcr & LCR_DLAB;
	uint8_t v;

	switch (reg) {
	case REG_RBR:
		return dlab ? s->dll : rx_pop(s, d);
	case REG_IER:
		return dlab ? s->dlm : s->ier;
	case REG_IIR:
		v = iir_value(s);
		/* Reading IIR clears THRE if that is the source it reports. */
		if ((v & IIR_ID_MASK) == IIR_THRI)
			s->thr_ipending = false;
		return v;
	case REG_LCR:
		return s->lcr;
	case REG_MCR:
		return s->mcr;
	case REG_LSR:
		/* THR and the transmitter are always empty: TX is instant. */
		v = s->lsr | LSR_THRE | LSR_TEMT | (s->rx_len ? LSR_DR : 0);
		s->lsr &= ~LSR_ERRORS; /* error bits clear on read */
		return v;
	case REG_MSR:
		v = s->msr;
		s->msr &= ~MSR_DELTAS; /* deltas clear on read */
		return v;
	default: /* REG_SCR */
		return s->scr;
	}
}

static void reg_write(struct serial *s, unsigned reg, uint8_t v, struct deferred *d)
{
	bool dlab = s->lcr & LCR_DLAB;

	switch (reg) {
	case REG_THR:
		if (dlab)
			s->dll = v;
		else
			transmit(s, v, d);
		break;
	case REG_IER:
		if (dlab)
			s->dlm = v;
		else
			set_ier(s, v & IER_MASK);
		break;
	case REG_FCR:
		write_fcr(s, v, d);
		break;
	case REG_LCR:
		s->lcr = v;
		break;
	case REG_MCR:
		s->mcr = v & MCR_MASK;
		set_msr_lines(s, msr_lines(s->mcr));
		break;
	case REG_LSR:
	case REG_MSR:
		/* Factory-test writes on real parts; nothing a driver does. */
		log_warn_rl("write %#x to read-only register %u ignored", v, reg);
		break;
	default: /* REG_SCR */
		s->scr = v;
		break;
	}
}

/* ---- bus ops ---- */

/*
 * After the unlock.  Output order is still the guest's: a vCPU's OUT only
 * completes once its byte has been handed to the sink, so a guest that
 * orders two writes (Linux holds the port lock) sees them in that order.
 */
static void run_deferred(struct serial *s, const struct deferred *d, void (*fn)(void *),
			 void *opaque)
{
	if (d->tx && s->out)
		s->out(s->out_opaque, &d->tx_byte, 1);
	if (d->rx_ready && fn)
		fn(opaque);
}

static void serial_read(void *dev, uint64_t off, void *data, unsigned len)
{
	struct serial *s = dev;
	struct deferred d = { 0 };
	void (*fn)(void *);
	void *opaque;
	uint8_t v;

	/* guest-controlled: off, len */
	if (len != 1 || off >= SERIAL_NR_PORTS) {
		log_warn_rl("%u-byte read at offset %#llx ignored", len, (unsigned long long)off);
		memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&s->lock);
	v = reg_read(s, (unsigned)off, &d);
	update_irq(s);
	fn = s->rx_ready;
	opaque = s->rx_ready_opaque;
	pthread_mutex_unlock(&s->lock);
	*(uint8_t *)data = v;
	run_deferred(s, &d, fn, opaque);
}

static void serial_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	struct serial *s = dev;
	struct deferred d = { 0 };
	void (*fn)(void *);
	void *opaque;

	/* guest-controlled: off, len, data */
	if (len != 1 || off >= SERIAL_NR_PORTS) {
		log_warn_rl("%u-byte write at offset %#llx ignored", len, (unsigned long long)off);
		return;
	}
	pthread_mutex_lock(&s->lock);
	reg_write(s, (unsigned)off, *(const uint8_t *)data, &d);
	update_irq(s);
	fn = s->rx_ready;
	opaque = s->rx_ready_opaque;
	pthread_mutex_unlock(&s->lock);
	run_deferred(s, &d, fn, opaque);
}

/* ---- host side ---- */

size_t serial_input(struct serial *s, const uint8_t *buf, size_t len)
{
	size_t n, tail, first;

	if (!len)
		return 0;
	pthread_mutex_lock(&s->lock);
	n = MIN(len, SERIAL_RX_SIZE - s->rx_len);
	tail = (s->rx_head + s->rx_len) % SERIAL_RX_SIZE;
	first = MIN(n, SERIAL_RX_SIZE - tail);
	memcpy(s->rx + tail, buf, first);
	memcpy(s->rx, buf + first, n - first);
	s->rx_len += n;
	if (s->rx_len == SERIAL_RX_SIZE)
		s->rx_was_full = true;
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}

size_t serial_rx_space(struct serial *s)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = SERIAL_RX_SIZE - s->rx_len;
	pthread_mutex_unlock(&s->lock);
	return n;
}

void serial_set_rx_ready(struct serial *s, void (*fn)(void *opaque), void *opaque)
{
	pthread_mutex_lock(&s->lock);
	s->rx_ready = fn;
	s->rx_ready_opaque = opaque;
	pthread_mutex_unlock(&s->lock);
}

/* ---- save / restore ---- */

void serial_save(struct serial *s, struct serial_state *st)
{
	size_t first;

	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&s->lock);
	st->ier = s->ier;
	st->lcr = s->lcr;
	st->mcr = s->mcr;
	st->lsr = s->lsr;
	st->msr = s->msr;
	st->scr = s->scr;
	st->dll = s->dll;
	st->dlm = s->dlm;
	st->fcr = s->fcr;
	st->thr_ipending = s->thr_ipending;
	st->rx_len = htole32((uint32_t)s->rx_len);
	first = MIN(s->rx_len, SERIAL_RX_SIZE - s->rx_head);
	memcpy(st->rx, s->rx + s->rx_head, first);
	memcpy(st->rx + first, s->rx, s->rx_len - first);
	pthread_mutex_unlock(&s->lock);
}

static bool all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* Accept exactly the states serial_save() can produce, so restore → save is an identity. */
static int check_state(const struct serial_state *st)
{
	uint32_t rx_len = le32toh(st->rx_len);

	if (rx_len > SERIAL_RX_SIZE)
		return err_setx(-EINVAL, "serial state: rx_len %u > %u", rx_len, SERIAL_RX_SIZE);
	if ((st->ier & ~IER_MASK) || (st->mcr & ~MCR_MASK) || (st->lsr & ~LSR_ERRORS) ||
	    (st->fcr & ~FCR_STORED) || (st->fcr && !(st->fcr & FCR_ENABLE)))
		return err_setx(-EINVAL, "serial state: reserved register bits set");
	if (st->thr_ipending > 1 || (st->thr_ipending && !(st->ier & IER_ETBEI)))
		return err_setx(-EINVAL, "serial state: bad THRE latch");
	if ((st->msr & MSR_LINES) != msr_lines(st->mcr))
		return err_setx(-EINVAL, "serial state: MSR disagrees with MCR");
	if (!all_zero(st->reserved, sizeof(st->reserved)) ||
	    !all_zero(st->rx + rx_len, SERIAL_RX_SIZE - rx_len))
		return err_setx(-EINVAL, "serial state: nonzero padding");
	return 0;
}

int serial_restore(struct serial *s, const struct serial_state *st)
{
	int ret = check_state(st);

	if (ret)
		return ret;
	pthread_mutex_lock(&s->lock);
	s->ier = st->ier;
	s->lcr = st->lcr;
	s->mcr = st->mcr;
	s->lsr = st->lsr;
	s->msr = st->msr;
	s->scr = st->scr;
	s->dll = st->dll;
	s->dlm = st->dlm;
	s->fcr = st->fcr;
	s->thr_ipending = st->thr_ipending;
	s->rx_head = 0;
	s->rx_len = le32toh(st->rx_len);
	memcpy(s->rx, st->rx, sizeof(s->rx));
	s->rx_was_full = s->rx_len == SERIAL_RX_SIZE;
	/* Drive the line even if unchanged: the irqchip may be fresh. */
	s->irq_level = !(iir_value(s) & IIR_NO_INT);
	irq_line_set(&s->irq, s->irq_level);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

/* ---- ops table, create / destroy ---- */

const struct bus_ops serial_bus_ops = {
	.read = serial_read,
	.write = serial_write,
};

int serial_create(const struct irq_line *irq, serial_out_fn out, void *out_opaque,
		  struct serial **ret)
{
	struct serial *s;
	int err;

	s = calloc(1, sizeof(*s));
	if (!s)
		return err_set(-ENOMEM, "serial: allocate device");
	err = pthread_mutex_init(&s->lock, NULL);
	if (err) {
		free(s);
		return err_set(-err, "serial: mutex");
	}
	if (irq)
		s->irq = *irq;
	s->out = out;
	s->out_opaque = out_opaque;
	/* Power-on values (PC16550D, UART reset configuration); the host lines are up. */
	s->msr = MSR_HOST_LINES;
	s->dll = DEFAULT_DLL;
	*ret = s;
	return 0;
}

void serial_destroy(struct serial *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s);
}
