// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-net on a TAP (see net.h).
 *
 * State: the device is "running" between activate (DRIVER_OK) and reset.
 * While running, exactly one data path owns the rings: vhost-net (the
 * kernel reads the kick eventfds, the TAP and writes the irqfd) or the
 * userspace path (the event loop watches the kick eventfds, the TAP and a
 * timerfd).  n->path says which; vhost is started and stopped under
 * vd.lock on whatever thread decides (a vCPU thread for activate/reset,
 * the loop for a rate-limit change), while what the loop watches is only
 * changed on the loop thread: reconcile() runs there (directly, or
 * deferred through evl_defer() from a vCPU thread) and makes the watches
 * match n->path.  Every loop handler takes vd.lock and re-checks n->path
 * first, so a handler that fires after a switch does nothing.
 *
 * Userspace rx: one frame at a time is read from the TAP into rxbuf
 * (virtio_net_hdr_v1 + up to 64 KiB), charged to the rx limiter, and
 * copied into as many receive chains as it needs (mergeable buffers: the
 * header's num_buffers says how many), which are published together.
 * When the ring has too few buffers, the chains go back and the frame
 * waits in rxbuf for the driver's next kick; when the limiter says wait,
 * it waits for the timer.  Either way the TAP is not read meanwhile, so
 * the host's stack queues (and TCP paces itself): nothing is dropped.
 *
 * Userspace tx: every chain is charged to the tx limiter and written to
 * the TAP as one frame (header included: the TAP parses it).  A throttled
 * chain goes back to the ring until the timer fires.
 */
#include <endian.h>
#include <errno.h>
#include <linux/if_tun.h>
#include <linux/vhost.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lib/err.h"
#define LOG_TAG "net"
#include "lib/log.h"
#include "lib/util.h"
#include "virtio/net.h"
#include "virtio/vhost.h"
#include "vmm/evloop.h"

#define RX_Q 0
#define TX_Q 1
#define NR_Q 2

/* Feature bits (section 5.1.3). */
#define VIRTIO_NET_F_CSUM 0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_ECN 9
#define VIRTIO_NET_F_HOST_TSO4 11
#define VIRTIO_NET_F_HOST_TSO6 12
#define VIRTIO_NET_F_HOST_ECN 13
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_S_LINK_UP 1

#define BIT64(n) (1ull << (n))
#define NET_DEVICE_FEATURES                                                                        \
	(BIT64(VIRTIO_NET_F_CSUM) | BIT64(VIRTIO_NET_F_GUEST_CSUM) | BIT64(VIRTIO_NET_F_MAC) |     \
	 BIT64(VIRTIO_NET_F_GUEST_TSO4) | BIT64(VIRTIO_NET_F_GUEST_TSO6) |                         \
	 BIT64(VIRTIO_NET_F_GUEST_ECN) | BIT64(VIRTIO_NET_F_HOST_TSO4) |                           \
	 BIT64(VIRTIO_NET_F_HOST_TSO6) | BIT64(VIRTIO_NET_F_HOST_ECN) |                            \
	 BIT64(VIRTIO_NET_F_MRG_RXBUF) | BIT64(VIRTIO_NET_F_STATUS))
#define RING_FEATURES (BIT64(VIRTIO_F_INDIRECT_DESC) | BIT64(VIRTIO_F_EVENT_IDX))

/* struct virtio_net_hdr_v1: flags, gso_type, hdr_len, gso_size, csum_start, csum_offset, num_buffers. */
#define NET_HDR_LEN 12
#define NET_HDR_NUM_BUFFERS 10
#define NET_MAX_FRAME (65535 + 14 + 4) /* a 64 KiB GSO packet, Ethernet header, VLAN tag */
#define RXBUF_LEN (NET_HDR_LEN + NET_MAX_FRAME)
#define NET_MAX_MRG 64 /* receive chains one frame may take */
#define NET_BATCH 256  /* frames per wake-up and direction, so the other gets its turn */

struct virtio_net_config { /* section 5.1.4, little-endian */
	uint8_t mac[6];
	uint16_t status;
	uint16_t max_virtqueue_pairs;
	uint16_t mtu;
} __attribute__((packed));
_Static_assert(sizeof(struct virtio_net_config) == 12, "virtio_net_config layout");

enum net_path { PATH_NONE, PATH_VHOST, PATH_USER };

struct net_kick {
	struct net *n;
	unsigned q;
	int fd;
};

struct net {
	struct virtio_dev vd;
	char id[16];
	int tap;
	uint8_t mac[6];
	struct evloop *loop;

	struct vhost vh;
	bool have_vhost;     /* vh is open and usable */
	uint16_t base[NR_Q]; /* next avail index while vhost is stopped */
	enum net_path path;  /* who owns the rings now (vd.lock) */

	/* Loop-thread state: what is watched. */
	bool watching;
	bool tap_added, timer_added;
	uint32_t tap_events;
	struct net_kick kicks[NR_Q];
	int timer_fd;
	struct evl_deferred reconcile_call;

	/* Userspace data path (vd.lock). */
	bool paused; /* net_pause(): no data path until net_resume() */
	struct rl_config rx_cfg, tx_cfg;
	struct rl rx_rl, tx_rl;
	uint8_t *rxbuf;
	size_t rx_len;	       /* a frame waits in rxbuf (0: none) */
	bool rx_charged;       /* ...and its tokens are taken */
	bool rx_wait_buffers;  /* ...for the driver to add receive buffers */
	uint64_t timer_due_ns; /* the armed timer's deadline (0: disarmed) */
	struct net_stats st;
	struct virtq_chain chain;
};

static struct net *to_net(struct virtio_dev *vd)
{
	return container_of(vd, struct net, vd);
}

static bool limited(const struct net *n)
{
	return !rl_unlimited(&n->rx_rl) || !rl_unlimited(&n->tx_rl);
}

/* ---- TAP offloads ---- */

/* What the TAP may hand us: only what the driver accepted to receive. */
static void set_offloads(struct net *n)
{
	unsigned f = 0;

	if (virtio_has_feature(&n->vd, VIRTIO_NET_F_GUEST_CSUM)) {
		f |= TUN_F_CSUM;
		if (virtio_has_feature(&n->vd, VIRTIO_NET_F_GUEST_TSO4))
			f |= TUN_F_TSO4;
		if (virtio_has_feature(&n->vd, VIRTIO_NET_F_GUEST_TSO6))
			f |= TUN_F_TSO6;
		if (f & (TUN_F_TSO4 | TUN_F_TSO6) &&
		    virtio_has_feature(&n->vd, VIRTIO_NET_F_GUEST_ECN))
			f |= TUN_F_TSO_ECN;
	}
	/* Not a TAP (unit tests use a socket): nothing to tell. */
	if (ioctl(n->tap, TUNSETOFFLOAD, f) < 0 && errno != ENOTTY && errno != EINVAL)
		log_warn_rl("%s: TUNSETOFFLOAD 0x%x: %s", n->id, f, strerror(errno));
}

/* ---- vhost-net ---- */

static int set_backend(struct net *n, int fd)
{
	for (unsigned q = 0; q < NR_Q; q++) {
		struct vhost_vring_file f = { .index = q, .fd = fd };
		int ret = vhost_call(&n->vh, VHOST_NET_SET_BACKEND, "VHOST_NET_SET_BACKEND", &f);

		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Hand the rings to the kernel from where they stand; vd.lock held. */
static int start_vhost(struct net *n)
{
	struct virtio_dev *vd = &n->vd;
	int ret, call;

	if (!vd->hooks.kick_fd || !vd->hooks.irq_fd)
		return err_setx(-ENODEV, "%s: placed without kick and interrupt eventfds", n->id);
	call = vd->hooks.irq_fd(vd->hooks.opaque);
	if (call < 0)
		return err_setx(call, "%s: no interrupt eventfd", n->id);
	ret = vhost_set_features(&n->vh, vd->features);
	if (!ret)
		ret = vhost_set_mem_table(&n->vh, vd->gm);
	for (unsigned q = 0; q < NR_Q && !ret; q++) {
		int kick = vd->hooks.kick_fd(vd->hooks.opaque, q);

		if (kick < 0)
			return err_setx(kick, "%s: no kick eventfd for queue %u", n->id, q);
		ret = vhost_set_vring(&n->vh, q, &vd->vqs[q], n->base[q], kick, call);
	}
	if (!ret)
		ret = set_backend(n, n->tap);
	return ret;
}

/* Take the rings back from the kernel; vd.lock held. */
static int stop_vhost(struct net *n)
{
	int ret = set_backend(n, -1);

	for (unsigned q = 0; q < NR_Q && !ret; q++)
		ret = vhost_get_vring_base(&n->vh, q, &n->base[q]);
	if (ret)
		log_warn_rl("%s: stopping vhost-net: %s", n->id, err_msg());
	return ret;
}

/* ---- loop-side watches ---- */

static void arm_timer(struct net *n, uint64_t wait_ns)
{
	uint64_t due = monotonic_ns() + (wait_ns ? wait_ns : 1);
	struct itimerspec its = { 0 };

	if (n->timer_due_ns && n->timer_due_ns <= due)
		return; /* an earlier wake-up is armed: it re-checks everything */
	its.it_value.tv_sec = (time_t)(due / 1000000000ull);
	its.it_value.tv_nsec = (long)(due % 1000000000ull);
	if (timerfd_settime(n->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0) {
		log_warn_rl("%s: timerfd_settime: %s", n->id, strerror(errno));
		return;
	}
	n->timer_due_ns = due;
}

static void set_tap_events(struct net *n, uint32_t events)
{
	if (!n->tap_added || n->tap_events == events)
		return;
	if (evl_mod(n->loop, n->tap, events) == 0)
		n->tap_events = events;
}

/* ---- userspace tx ---- */

static void tx_process(struct net *n)
{
	struct virtq *q = &n->vd.vqs[TX_Q];
	uint64_t now = monotonic_ns();
	bool pushed = false;
	unsigned done = 0;
	int ret;

	for (;;) {
		virtq_set_notify(q, false);
		while (done < NET_BATCH) {
			ret = virtq_pop(q, &n->chain); /* guest-controlled chain */
			if (ret == 0)
				break;
			if (ret < 0) {
				virtio_dev_needs_reset(&n->vd, "tx: malformed descriptor chain");
				return;
			}
			if (n->chain.out_len < NET_HDR_LEN ||
			    n->chain.out_len > NET_HDR_LEN + NET_MAX_FRAME) {
				log_warn_rl("%s: tx frame of %llu bytes dropped", n->id,
					    (unsigned long long)n->chain.out_len);
				virtq_push(q, n->chain.head, 0);
				pushed = true;
				continue;
			}
			if (!rl_consume(&n->tx_rl, n->chain.out_len - NET_HDR_LEN, 1, now)) {
				virtq_unpop(q);
				n->st.tx_throttled++;
				arm_timer(n, rl_wait_ns(&n->tx_rl, now));
				goto out; /* notifications stay off: the timer resumes */
			}
			if (writev(n->tap, n->chain.iov, (int)n->chain.nr_out) < 0)
				log_warn_rl("%s: writing a frame to the TAP: %s", n->id,
					    strerror(errno));
			n->st.tx_frames++;
			n->st.tx_bytes += n->chain.out_len - NET_HDR_LEN;
			virtq_push(q, n->chain.head, 0);
			pushed = true;
			done++;
		}
		if (done >= NET_BATCH) {
			arm_timer(n, 0); /* let rx and others run, then go on */
			break;
		}
		virtq_set_notify(q, true);
		if (!virtq_has_avail(q))
			break;
	}
out:
	if (pushed)
		virtio_dev_signal_used(&n->vd, TX_Q);
}

/* ---- userspace rx ---- */

/* Copy rxbuf into receive chains.  1: delivered; 0: too few buffers (nothing taken). */
static int rx_deliver(struct net *n)
{
	struct virtq *q = &n->vd.vqs[RX_Q];
	bool mrg = virtio_has_feature(&n->vd, VIRTIO_NET_F_MRG_RXBUF);
	uint8_t *nb[2] = { NULL, NULL }; /* the first chain's num_buffers bytes */
	size_t off = 0;
	unsigned num = 0;
	int ret;

	while (off < n->rx_len) {
		size_t len;

		if (num == NET_MAX_MRG || (num && !mrg))
			goto drop; /* the driver's buffers are too small for the frame */
		ret = virtq_pop(q, &n->chain); /* guest-controlled chain */
		if (ret < 0) {
			virtio_dev_needs_reset(&n->vd, "rx: malformed descriptor chain");
			return -EINVAL;
		}
		if (ret == 0) {
			for (unsigned i = 0; i < num; i++)
				virtq_unpop(q);
			return 0;
		}
		if (n->chain.nr_out || (!num && n->chain.in_len < NET_HDR_LEN)) {
			virtio_dev_needs_reset(&n->vd, "rx: buffer not writable or too small");
			return -EINVAL;
		}
		if (!num) {
			/* Where the header's num_buffers lands, for after the count is known. */
			uint64_t pos = 0;

			for (unsigned i = 0; i < n->chain.nr_in && (!nb[0] || !nb[1]); i++) {
				const struct iovec *v = &n->chain.iov[n->chain.nr_out + i];

				for (unsigned b = 0; b < 2; b++)
					if (pos <= NET_HDR_NUM_BUFFERS + b &&
					    NET_HDR_NUM_BUFFERS + b < pos + v->iov_len)
						nb[b] = (uint8_t *)v->iov_base +
							(NET_HDR_NUM_BUFFERS + b - pos);
				pos += v->iov_len;
			}
		}
		len = n->rx_len - off;
		if (len > n->chain.in_len)
			len = n->chain.in_len;
		virtq_chain_write(&n->chain, 0, n->rxbuf + off, len);
		virtq_fill(q, num, n->chain.head, (uint32_t)len);
		off += len;
		num++;
	}
	if (nb[0] && nb[1]) {
		nb[0][0] = (uint8_t)num; /* little-endian le16 */
		nb[1][0] = (uint8_t)(num >> 8);
	}
	virtq_flush(q, num);
	n->st.rx_frames++;
	n->st.rx_bytes += n->rx_len - NET_HDR_LEN;
	return 1;
drop:
	/* The buffers go back to the ring unused; the frame is lost. */
	for (unsigned i = 0; i < num; i++)
		virtq_unpop(q);
	n->st.rx_dropped++;
	log_warn_rl("%s: a %zu-byte frame does not fit the driver's receive buffers", n->id,
		    n->rx_len - NET_HDR_LEN);
	return 1;
}

static void rx_process(struct net *n)
{
	struct virtq *q = &n->vd.vqs[RX_Q];
	uint64_t now = monotonic_ns();
	bool pushed = false;
	unsigned done = 0;
	int ret;

	while (done < NET_BATCH) {
		if (!n->rx_len) {
			ssize_t r = read(n->tap, n->rxbuf, RXBUF_LEN);

			if (r < 0) {
				if (errno != EAGAIN && errno != EINTR)
					log_warn_rl("%s: reading the TAP: %s", n->id,
						    strerror(errno));
				break;
			}
			if (r <= NET_HDR_LEN)
				continue;
			n->rx_len = (size_t)r;
			n->rx_charged = false;
		}
		if (!n->rx_charged) {
			if (!rl_consume(&n->rx_rl, n->rx_len - NET_HDR_LEN, 1, now)) {
				n->st.rx_throttled++;
				set_tap_events(n, 0);
				arm_timer(n, rl_wait_ns(&n->rx_rl, now));
				goto out;
			}
			n->rx_charged = true;
		}
		ret = rx_deliver(n);
		if (ret < 0)
			return;
		if (ret == 0) {
			/*
			 * Too few buffers (perhaps some, not enough for this frame):
			 * wait for the driver to add more.  One more try closes the
			 * race with buffers added before the request took effect.
			 */
			n->rx_wait_buffers = true;
			set_tap_events(n, 0);
			virtq_want_more(q);
			ret = rx_deliver(n);
			if (ret < 0)
				return;
			if (ret == 0)
				goto out;
			n->rx_wait_buffers = false;
			virtq_set_notify(q, false);
		}
		n->rx_len = 0;
		pushed = true;
		done++;
	}
	if (done >= NET_BATCH)
		arm_timer(n, 0);
	set_tap_events(n, EPOLLIN);
out:
	if (pushed)
		virtio_dev_signal_used(&n->vd, RX_Q);
}

/* Run both directions if the userspace path owns the rings; vd.lock held, loop thread. */
static void user_poll(struct net *n)
{
	if (n->path != PATH_USER || !virtio_dev_running(&n->vd))
		return;
	tx_process(n);
	if (virtio_dev_running(&n->vd) && !n->rx_wait_buffers)
		rx_process(n);
}

static void on_kick(void *opaque, uint32_t events)
{
	struct net_kick *k = opaque;
	struct net *n = k->n;
	uint64_t v;

	(void)!read(k->fd, &v, sizeof(v));
	pthread_mutex_lock(&n->vd.lock);
	if (n->path == PATH_USER && virtio_dev_running(&n->vd)) {
		if (k->q == TX_Q)
			tx_process(n);
		else if (n->rx_wait_buffers) {
			n->rx_wait_buffers = false;
			virtq_set_notify(&n->vd.vqs[RX_Q], false);
			rx_process(n);
		}
	}
	pthread_mutex_unlock(&n->vd.lock);
}

static void on_tap(void *opaque, uint32_t events)
{
	struct net *n = opaque;

	pthread_mutex_lock(&n->vd.lock);
	if (n->path == PATH_USER && virtio_dev_running(&n->vd) && !n->rx_wait_buffers)
		rx_process(n);
	else
		set_tap_events(n, 0); /* not ours now: reconcile() re-enables it */
	pthread_mutex_unlock(&n->vd.lock);
}

static void on_timer(void *opaque, uint32_t events)
{
	struct net *n = opaque;
	uint64_t v;

	(void)!read(n->timer_fd, &v, sizeof(v));
	pthread_mutex_lock(&n->vd.lock);
	n->timer_due_ns = 0;
	user_poll(n);
	pthread_mutex_unlock(&n->vd.lock);
}

/*
 * Make what the loop watches match n->path (loop thread, vd.lock held):
 * the kick eventfds and the TAP belong to the kernel under vhost and must
 * not be read here then.
 */
static void reconcile_locked(struct net *n)
{
	bool want = n->path == PATH_USER && virtio_dev_running(&n->vd);
	struct virtio_dev *vd = &n->vd;

	if (want && !n->watching) {
		for (unsigned q = 0; q < NR_Q; q++) {
			struct net_kick *k = &n->kicks[q];
			int fd = vd->hooks.kick_fd ? vd->hooks.kick_fd(vd->hooks.opaque, q)
						   : -ENODEV;

			if (fd < 0) {
				virtio_dev_needs_reset(vd, "no kick eventfd");
				return;
			}
			if (k->fd != fd) {
				if (k->fd >= 0)
					evl_del(n->loop, k->fd);
				k->fd = -1;
				if (evl_add(n->loop, fd, EPOLLIN, on_kick, k)) {
					virtio_dev_needs_reset(vd, err_msg());
					return;
				}
				k->fd = fd;
			} else {
				evl_mod(n->loop, fd, EPOLLIN);
			}
		}
		n->watching = true;
		/* Receive buffers are only waited for when they run out (rx_process). */
		virtq_set_notify(&vd->vqs[RX_Q], false);
		set_tap_events(n, EPOLLIN);
		user_poll(n);
	} else if (!want && n->watching) {
		for (unsigned q = 0; q < NR_Q; q++)
			if (n->kicks[q].fd >= 0)
				evl_mod(n->loop, n->kicks[q].fd, 0);
		set_tap_events(n, 0);
		n->watching = false;
	}
}

static void reconcile(void *opaque)
{
	struct net *n = opaque;

	pthread_mutex_lock(&n->vd.lock);
	reconcile_locked(n);
	pthread_mutex_unlock(&n->vd.lock);
}

/* Choose the data path for a running device and hand it the rings; vd.lock held. */
static int choose_path(struct net *n)
{
	enum net_path want = n->have_vhost && !limited(n) ? PATH_VHOST : PATH_USER;
	int ret;

	if (want == n->path)
		return 0;
	if (n->path == PATH_VHOST) {
		ret = stop_vhost(n);
		if (ret)
			return ret;
		for (unsigned q = 0; q < NR_Q; q++)
			if (virtq_resync(&n->vd.vqs[q], n->base[q]))
				return err_setx(-EINVAL, "%s: ring outside guest memory", n->id);
		n->rx_wait_buffers = false;
		log_info("%s: userspace data path (rate limited)", n->id);
	} else if (want == PATH_VHOST) {
		if (n->path == PATH_USER) {
			for (unsigned q = 0; q < NR_Q; q++)
				n->base[q] = n->vd.vqs[q].last_avail;
			if (n->rx_len)
				n->st.rx_dropped++; /* the kernel reads the TAP from here on */
			n->rx_len = 0;
		}
		n->path = PATH_NONE;
		ret = start_vhost(n);
		if (ret) {
			/* Said once: from now on this NIC stays on the userspace path. */
			log_warn("%s: %s; the NIC uses the slower userspace data path", n->id,
				 err_msg());
			(void)set_backend(n, -1);
			n->have_vhost = false;
			want = PATH_USER;
		}
	}
	n->path = want;
	return 0;
}

/* ---- device ops ---- */

static uint64_t net_features(struct virtio_dev *vd)
{
	struct net *n = to_net(vd);
	uint64_t ring = RING_FEATURES;

	/* Both paths must carry what was negotiated: a NIC may switch at run time. */
	if (n->have_vhost)
		ring &= n->vh.features;
	return NET_DEVICE_FEATURES | ring;
}

static int net_activate(struct virtio_dev *vd)
{
	struct net *n = to_net(vd);
	int ret;

	set_offloads(n);
	n->rx_len = 0;
	n->rx_wait_buffers = false;
	n->path = PATH_NONE;
	ret = choose_path(n);
	if (ret)
		return ret; /* the transport marks the device as needing reset and logs */
	evl_defer(n->loop, &n->reconcile_call);
	return 0;
}

static void net_reset(struct virtio_dev *vd)
{
	struct net *n = to_net(vd);

	if (n->path == PATH_VHOST)
		(void)stop_vhost(n);
	n->path = PATH_NONE;
	memset(n->base, 0, sizeof(n->base));
	n->rx_len = 0;
	n->rx_wait_buffers = false;
	evl_defer(n->loop, &n->reconcile_call);
}

static void net_notify(struct virtio_dev *vd, unsigned q)
{
	/* Kicks that missed the ioeventfd (a test): the loop-side handler's work. */
	struct net *n = to_net(vd);

	if (n->path != PATH_USER)
		return;
	if (q == TX_Q)
		tx_process(n);
	else if (n->rx_wait_buffers) {
		n->rx_wait_buffers = false;
		rx_process(n);
	}
}

static void net_config_read(struct virtio_dev *vd, unsigned off, void *buf, unsigned len)
{
	struct net *n = to_net(vd);
	struct virtio_net_config c = { .status = htole16(VIRTIO_NET_S_LINK_UP),
				       .max_virtqueue_pairs = htole16(1) };

	memcpy(c.mac, n->mac, sizeof(c.mac));
	memcpy(buf, (uint8_t *)&c + off, len); /* the transport checks off + len */
}

static const struct virtio_dev_ops net_ops = {
	.name = "virtio-net",
	.type = VIRTIO_ID_NET,
	.nr_queues = NR_Q,
	.queue_size = NET_QUEUE_SIZE,
	.config_size = sizeof(struct virtio_net_config),
	/* Both queues' kicks are the device's own: vhost's, or the loop's through reconcile(). */
	.backend_queues = (1u << RX_Q) | (1u << TX_Q),
	.ring_features_from_device = true,
	.features = net_features,
	.activate = net_activate,
	.reset = net_reset,
	.notify = net_notify,
	.config_read = net_config_read,
};

/* ---- public API ---- */

struct virtio_dev *net_virtio(struct net *n)
{
	return &n->vd;
}

const char *net_id(const struct net *n)
{
	return n->id;
}

const char *net_data_path(struct net *n)
{
	enum net_path p;

	pthread_mutex_lock(&n->vd.lock);
	p = n->path;
	pthread_mutex_unlock(&n->vd.lock);
	return p == PATH_VHOST ? "vhost" : p == PATH_USER ? "userspace" : "inactive";
}

int net_set_rate_limit(struct net *n, const struct rl_config *rx, const struct rl_config *tx)
{
	uint64_t now = monotonic_ns();
	int ret = 0;

	pthread_mutex_lock(&n->vd.lock);
	if (rx) {
		n->rx_cfg = *rx;
		rl_update(&n->rx_rl, rx, now);
	}
	if (tx) {
		n->tx_cfg = *tx;
		rl_update(&n->tx_rl, tx, now);
	}
	if (virtio_dev_running(&n->vd)) {
		ret = choose_path(n);
		if (ret)
			virtio_dev_needs_reset(&n->vd, err_msg());
		else
			evl_defer(n->loop, &n->reconcile_call);
		/* What waited for tokens is re-evaluated now, on the loop. */
		if (!ret && n->path == PATH_USER)
			arm_timer(n, 0);
	}
	pthread_mutex_unlock(&n->vd.lock);
	return ret;
}

void net_get_rate_limit(struct net *n, struct rl_config *rx, struct rl_config *tx)
{
	pthread_mutex_lock(&n->vd.lock);
	*rx = n->rx_cfg;
	*tx = n->tx_cfg;
	pthread_mutex_unlock(&n->vd.lock);
}

void net_get_stats(struct net *n, struct net_stats *out)
{
	pthread_mutex_lock(&n->vd.lock);
	*out = n->st;
	pthread_mutex_unlock(&n->vd.lock);
}

/* ---- snapshots ---- */

int net_pause(struct net *n)
{
	int ret = 0;

	pthread_mutex_lock(&n->vd.lock);
	if (!n->paused) {
		if (n->path == PATH_VHOST)
			ret = stop_vhost(n);
		else
			for (unsigned q = 0; q < NR_Q; q++)
				n->base[q] = n->vd.vqs[q].last_avail;
		if (n->rx_len)
			n->st.rx_dropped++; /* as a wire may drop it */
		n->rx_len = 0;
		n->rx_wait_buffers = false;
		n->path = PATH_NONE; /* the loop's handlers do nothing now */
		n->paused = !ret;
		evl_defer(n->loop, &n->reconcile_call);
	}
	pthread_mutex_unlock(&n->vd.lock);
	return ret;
}

/* Start the data path of a running device from n->base; vd.lock held. */
static int restart(struct net *n)
{
	int ret = 0;

	n->paused = false;
	if (virtio_dev_running(&n->vd)) {
		n->path = PATH_NONE;
		ret = choose_path(n);
		if (ret)
			virtio_dev_needs_reset(&n->vd, err_msg());
	}
	evl_defer(n->loop, &n->reconcile_call);
	return ret;
}

int net_resume(struct net *n)
{
	int ret = 0;

	pthread_mutex_lock(&n->vd.lock);
	if (n->paused)
		ret = restart(n);
	pthread_mutex_unlock(&n->vd.lock);
	return ret;
}

void net_save(struct net *n, struct net_state *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_lock(&n->vd.lock);
	for (unsigned q = 0; q < NR_Q; q++)
		s->vring_base[q] = htole16(n->paused ? n->base[q] : n->vd.vqs[q].last_avail);
	memcpy(s->mac, n->mac, sizeof(s->mac));
	s->rx = n->rx_cfg;
	s->tx = n->tx_cfg;
	pthread_mutex_unlock(&n->vd.lock);
}

static bool rl_none(const struct rl_config *c)
{
	return !c->bytes.size && !c->ops.size;
}

int net_restore(struct net *n, const struct net_state *s)
{
	uint64_t now = monotonic_ns();
	int ret;

	if (rl_check(&s->rx) || rl_check(&s->tx))
		return err_setx(-EINVAL, "%s: malformed snapshot state (rate limits)", n->id);
	pthread_mutex_lock(&n->vd.lock);
	if (n->path == PATH_VHOST)
		(void)stop_vhost(n);
	if (rl_none(&n->rx_cfg) && rl_none(&n->tx_cfg)) {
		n->rx_cfg = s->rx;
		n->tx_cfg = s->tx;
		rl_update(&n->rx_rl, &s->rx, now);
		rl_update(&n->tx_rl, &s->tx, now);
	}
	for (unsigned q = 0; q < NR_Q; q++)
		n->base[q] = le16toh(s->vring_base[q]);
	n->rx_len = 0;
	n->rx_wait_buffers = false;
	/* A new TAP: it carries the offloads the restored driver negotiated. */
	if (virtio_dev_running(&n->vd))
		set_offloads(n);
	ret = restart(n);
	pthread_mutex_unlock(&n->vd.lock);
	return ret;
}

/* ---- create / destroy ---- */

int net_create(const struct net_config *cfg, const struct guest_mem *gm, struct evloop *loop,
	       struct net **out)
{
	struct net *n = calloc(1, sizeof(*n));
	uint64_t now = monotonic_ns();
	int ret;

	if (!n) {
		close(cfg->tap_fd);
		return err_set(-ENOMEM, "virtio-net");
	}
	n->tap = cfg->tap_fd;
	n->vh.fd = -1;
	n->timer_fd = -1;
	n->loop = loop;
	snprintf(n->id, sizeof(n->id), "%s", cfg->id ? cfg->id : "net");
	memcpy(n->mac, cfg->mac, sizeof(n->mac));
	for (unsigned q = 0; q < NR_Q; q++)
		n->kicks[q] = (struct net_kick){ .n = n, .q = q, .fd = -1 };
	n->reconcile_call = (struct evl_deferred){ .fn = reconcile, .opaque = n };
	n->rx_cfg = cfg->rx;
	n->tx_cfg = cfg->tx;
	rl_init(&n->rx_rl, &cfg->rx, now);
	rl_init(&n->tx_rl, &cfg->tx, now);
	n->rxbuf = malloc(RXBUF_LEN);
	if (!n->rxbuf) {
		ret = err_set(-ENOMEM, "virtio-net");
		goto fail;
	}
	if (!cfg->no_vhost) {
		ret = vhost_open(&n->vh, cfg->vhost_path ? cfg->vhost_path : NET_DEFAULT_VHOST,
				 cfg->ops, cfg->ops_opaque);
		if (!ret) {
			n->have_vhost = true;
		} else {
			log_warn("%s: %s; the NIC uses the slower userspace data path", n->id,
				 err_msg());
			vhost_close(&n->vh);
		}
	}
	n->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (n->timer_fd < 0) {
		ret = err_set(-errno, "timerfd_create");
		goto fail;
	}
	ret = evl_add(loop, n->timer_fd, EPOLLIN, on_timer, n);
	if (ret)
		goto fail;
	n->timer_added = true;
	ret = evl_add(loop, n->tap, 0, on_tap, n);
	if (ret)
		goto fail;
	n->tap_added = true;
	ret = virtio_dev_init(&n->vd, &net_ops, gm);
	if (ret)
		goto fail;
	/* vhost writes the irqfd itself, never through interrupt_status (see mmio.c). */
	n->vd.backend_irq = true;
	*out = n;
	return 0;
fail:
	net_destroy(n);
	return ret;
}

void net_destroy(struct net *n)
{
	if (!n)
		return;
	evl_cancel(n->loop, &n->reconcile_call);
	if (n->path == PATH_VHOST)
		(void)set_backend(n, -1);
	vhost_close(&n->vh);
	for (unsigned q = 0; q < NR_Q; q++)
		if (n->kicks[q].fd >= 0)
			evl_del(n->loop, n->kicks[q].fd); /* the fds are the placement's */
	if (n->tap_added)
		evl_del(n->loop, n->tap);
	if (n->timer_added)
		evl_del(n->loop, n->timer_fd);
	if (n->timer_fd >= 0)
		close(n->timer_fd);
	if (n->tap >= 0)
		close(n->tap);
	if (n->vd.ops)
		virtio_dev_destroy(&n->vd);
	free(n->rxbuf);
	free(n);
}
