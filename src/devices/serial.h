/* SPDX-License-Identifier: Apache-2.0 */
/*
 * 16550A UART (COM1).  A port-I/O state machine with no fds of its own:
 * transmitted bytes go straight to an output callback (TX is instant), host
 * input is queued with serial_input() into a 4 KiB receive buffer, and the
 * interrupt is driven through an irq_line.  Register the device on the PIO
 * bus with 8 ports (SERIAL_NR_PORTS).  Handlers run on vCPU threads; input
 * and rx-ready on the event loop; one mutex per device covers all of it.
 */
#ifndef CLONE_DEVICES_SERIAL_H
#define CLONE_DEVICES_SERIAL_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/irq.h"

#define SERIAL_NR_PORTS 8
/* Host input waiting for the guest: much more than the 16-byte FIFO, so pastes survive. */
#define SERIAL_RX_SIZE 4096

struct serial;

/*
 * Sink for transmitted bytes, one call per byte the guest writes to THR.
 * Called on the writing vCPU thread without the device lock; it may block
 * (the guest's OUT completes when it returns).
 */
typedef void (*serial_out_fn)(void *opaque, const uint8_t *buf, size_t len);

/*
 * Snapshot of the guest-visible UART state: fixed layout, little-endian.
 * rx[0..rx_len) is the receive buffer oldest byte first; the rest is zero.
 */
struct serial_state {
	uint8_t ier;
	uint8_t lcr;
	uint8_t mcr;
	uint8_t lsr; /* sticky error bits only (OE/PE/FE/BI); DR/THRE/TEMT are derived */
	uint8_t msr;
	uint8_t scr;
	uint8_t dll;
	uint8_t dlm;
	uint8_t fcr; /* FIFO enable, DMA mode and trigger bits as programmed */
	uint8_t thr_ipending;
	uint8_t reserved[2];
	uint32_t rx_len; /* little-endian */
	uint8_t rx[SERIAL_RX_SIZE];
};
_Static_assert(sizeof(struct serial_state) == 16 + SERIAL_RX_SIZE, "serial_state layout");

extern const struct bus_ops serial_bus_ops;

/*
 * Create a UART in its power-on state.  *irq is copied (it may live on the
 * caller's stack); out may be NULL to discard output.  0 or -errno.
 */
int serial_create(const struct irq_line *irq, serial_out_fn out, void *out_opaque,
		  struct serial **ret);
/* Free the device; NULL is fine.  No handler may be running. */
void serial_destroy(struct serial *s);

/*
 * Queue host input for the guest (any thread, normally the event loop).
 * Returns how many bytes were accepted, possibly fewer than len (0 when the
 * buffer is full); the caller keeps the rest and retries after rx-ready.
 */
size_t serial_input(struct serial *s, const uint8_t *buf, size_t len);
/* Free space in the receive buffer right now (any thread). */
size_t serial_rx_space(struct serial *s);
/*
 * fn(opaque) is called, without the device lock held, on the thread where
 * the guest consumed input, whenever the receive buffer goes from full to
 * having space.  Set it before vCPUs run; fn NULL disables it.
 */
void serial_set_rx_ready(struct serial *s, void (*fn)(void *opaque), void *opaque);

/* Fill *st (any thread; vCPUs should be paused for a consistent snapshot). */
void serial_save(struct serial *s, struct serial_state *st);
/*
 * Load *st and drive the irq line to the restored level.  -EINVAL (message
 * set) if the state is malformed; the device is unchanged then.
 */
int serial_restore(struct serial *s, const struct serial_state *st);

#endif
