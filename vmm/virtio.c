/*
 * virtio-mmio transport, virtio 1.x ("modern", register layout version 2).
 *
 * What it owns: the register file of section 4.2.2 (feature words, queue
 * selection and addresses, status, interrupt status), feature negotiation,
 * the device's virtqueues, its interrupt, and one I/O thread per device.
 *
 * Threads.  vCPU threads call virtio_mmio_io for register accesses.  A
 * write of QueueNotify never reaches them when KVM has ioeventfd: KVM
 * signals the queue's eventfd itself (no exit to user space).  Without
 * ioeventfd the vCPU thread signals the same eventfd, so either way the
 * queue is worked on the device's I/O thread, which sleeps in epoll on
 * the queue eventfds and on whatever the backend watches (a tap fd, a
 * timer).  Interrupts go out through an irqfd (KVM pulses the GSI: edge,
 * as the ACPI table and the guest's IOAPIC entry say), or, without irqfd,
 * through KVM_IRQ_LINE up and down.  Every register access and every
 * queue run takes the device lock, so a queue is only ever worked by one
 * thread and never while the driver is reprogramming it.
 *
 * Pause: while the machine is paused the I/O thread finishes the event it
 * is on and then waits, before it touches a queue, so guest memory and
 * interrupts hold still for a debugger or a dump.  Kicks, tap frames and
 * host console input wait in their eventfds, sockets and rings.
 *
 * Reboot: the KVM VM is created afresh on each boot, so ioeventfds and the
 * irqfd are registered again by the reset the board does after creating
 * it; the eventfds themselves live as long as the device.
 *
 * What it never does: trust a value the guest wrote.  A queue whose ring
 * breaks the rules (virtq.c) is stopped and the device says
 * DEVICE_NEEDS_RESET; kzhost carries on.
 */
#include "virtio.h"
#include "vm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>

enum {
	REG_MAGIC = 0x000, REG_VERSION = 0x004, REG_DEVICE_ID = 0x008,
	REG_VENDOR_ID = 0x00c, REG_DEV_FEATURES = 0x010,
	REG_DEV_FEATURES_SEL = 0x014, REG_DRV_FEATURES = 0x020,
	REG_DRV_FEATURES_SEL = 0x024, REG_QUEUE_SEL = 0x030,
	REG_QUEUE_NUM_MAX = 0x034, REG_QUEUE_NUM = 0x038,
	REG_QUEUE_READY = 0x044, REG_QUEUE_NOTIFY = 0x050,
	REG_INT_STATUS = 0x060, REG_INT_ACK = 0x064, REG_STATUS = 0x070,
	REG_QUEUE_DESC_LO = 0x080, REG_QUEUE_DESC_HI = 0x084,
	REG_QUEUE_DRIVER_LO = 0x090, REG_QUEUE_DRIVER_HI = 0x094,
	REG_QUEUE_DEVICE_LO = 0x0a0, REG_QUEUE_DEVICE_HI = 0x0a4,
	REG_CONFIG_GEN = 0x0fc, REG_CONFIG = 0x100,
};

#define MMIO_MAGIC	0x74726976	/* "virt" */
#define MMIO_VERSION	2
#define KZ_VENDOR_ID	0x4e4f5a4b	/* "KZON" */

#define STATUS_ACKNOWLEDGE	1
#define STATUS_DRIVER		2
#define STATUS_DRIVER_OK	4
#define STATUS_FEATURES_OK	8
#define STATUS_NEEDS_RESET	64
#define STATUS_FAILED		128

#define F_INDIRECT_DESC		28
#define F_EVENT_IDX		29
#define F_VERSION_1		32
#define TRANSPORT_FEATURES \
	((1ULL << F_INDIRECT_DESC) | (1ULL << F_EVENT_IDX) | (1ULL << F_VERSION_1))

enum { EV_KICK, EV_STOP, EV_WATCH };
#define EV(kind, i)	(((uint64_t)(kind) << 32) | (i))

bool virtio_driver_ok(const struct virtio_dev *vd)
{
	return (vd->status & STATUS_DRIVER_OK) &&
	       !(vd->status & STATUS_NEEDS_RESET);
}

bool virtio_has(const struct virtio_dev *vd, unsigned bit)
{
	return bit < 64 && (vd->guest_features >> bit) & 1;
}

const struct vmm_mem *virtio_mem(const struct virtio_dev *vd)
{
	return &vd->dev->vm->mem;
}

static void raise_irq(struct virtio_dev *vd, uint32_t bits)
{
	vd->isr |= bits;
	vd->interrupts++;
	if (vd->irqfd) {
		uint64_t one = 1;
		if (write(vd->irq_fd, &one, sizeof(one)) == sizeof(one))
			return;
	}
	vmm_dev_irq_set(vd->dev, true);
	vmm_dev_irq_set(vd->dev, false);
}

void virtio_queue_interrupt(struct virtio_dev *vd, unsigned q)
{
	if (q < VIRTIO_MAX_QUEUES && virtq_need_interrupt(&vd->vq[q]))
		raise_irq(vd, VIRTIO_INT_USED);
}

void virtio_queue_broken(struct virtio_dev *vd, unsigned q)
{
	if (vd->status & STATUS_NEEDS_RESET)
		return;
	vd->broken_why = q < VIRTIO_MAX_QUEUES ? vd->vq[q].why : NULL;
	vd->status |= STATUS_NEEDS_RESET;
	raise_irq(vd, VIRTIO_INT_CONFIG);
}

int virtio_queue_pop(struct virtio_dev *vd, unsigned q,
		     struct virtq_chain *chain)
{
	struct virtq *vq = &vd->vq[q];
	for (;;) {
		int rc = virtq_pop(vq, virtio_mem(vd), chain);
		if (rc < 0) {
			virtio_queue_broken(vd, q);
			return -1;
		}
		if (rc > 0)
			return 1;
		if (!virtq_enable_notify(vq))
			return 0;
	}
}

static void kick(struct virtio_dev *vd, unsigned q)
{
	uint64_t one = 1;
	(void)!write(vd->kick_fd[q], &one, sizeof(one));
}

static void device_reset(struct virtio_dev *vd)
{
	vd->status = 0;
	vd->isr = 0;
	vd->guest_features = 0;
	vd->dfsel = vd->gfsel = vd->qsel = 0;
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
		virtq_reset(&vd->vq[i]);
	vd->broken_why = NULL;
	if (vd->be_ops->reset)
		vd->be_ops->reset(vd);
}

static uint32_t reg_read(struct virtio_dev *vd, uint64_t off)
{
	struct virtq *q = vd->qsel < vd->be_ops->nqueues ? &vd->vq[vd->qsel]
							  : NULL;
	uint64_t feat = vd->host_features | TRANSPORT_FEATURES;

	switch (off) {
	case REG_MAGIC: return MMIO_MAGIC;
	case REG_VERSION: return MMIO_VERSION;
	case REG_DEVICE_ID: return vd->be_ops->device_id;
	case REG_VENDOR_ID: return KZ_VENDOR_ID;
	case REG_DEV_FEATURES:
		return vd->dfsel < 2 ? (uint32_t)(feat >> (32 * vd->dfsel)) : 0;
	case REG_QUEUE_NUM_MAX: return q ? VIRTQ_MAX_SIZE : 0;
	case REG_QUEUE_READY: return q ? q->ready : 0;
	case REG_INT_STATUS: return vd->isr;
	case REG_STATUS: return vd->status;
	case REG_CONFIG_GEN: return vd->config_gen;
	default: return 0;
	}
}

static void set_half(uint64_t *v, bool high, uint32_t val)
{
	if (high)
		*v = (*v & 0xffffffffULL) | ((uint64_t)val << 32);
	else
		*v = (*v & ~0xffffffffULL) | val;
}

static void queue_ready(struct virtio_dev *vd, struct virtq *q, uint32_t v)
{
	if (!v) {
		q->ready = false;
		return;
	}
	if (q->ready)
		return;
	q->event_idx = virtio_has(vd, F_EVENT_IDX);
	q->indirect = virtio_has(vd, F_INDIRECT_DESC);
	if (virtq_enable(q, virtio_mem(vd)) < 0) {
		q->why = "queue areas outside guest RAM";
		virtio_queue_broken(vd, (unsigned)(q - vd->vq));
	}
}

static void status_write(struct virtio_dev *vd, uint32_t v)
{
	if (v == 0) {
		device_reset(vd);
		return;
	}
	uint64_t offered = vd->host_features | TRANSPORT_FEATURES;
	/* 3.1.1: only modern drivers, only features we offered. */
	if ((v & STATUS_FEATURES_OK) && !(vd->status & STATUS_FEATURES_OK) &&
	    (!virtio_has(vd, F_VERSION_1) ||
	     (vd->guest_features & ~offered)))
		v &= ~STATUS_FEATURES_OK;
	bool now_ok = (v & STATUS_DRIVER_OK) &&
		      !(vd->status & STATUS_DRIVER_OK);
	vd->status = (v & 0xff) | (vd->status & STATUS_NEEDS_RESET);
	if (now_ok)
		for (unsigned i = 0; i < vd->be_ops->nqueues; i++)
			kick(vd, i);
}

static void reg_write(struct virtio_dev *vd, uint64_t off, uint32_t v)
{
	struct virtq *q = vd->qsel < vd->be_ops->nqueues ? &vd->vq[vd->qsel]
							  : NULL;
	/* Queue set-up registers are frozen while the queue is live. */
	bool q_open = q && !q->ready;

	switch (off) {
	case REG_DEV_FEATURES_SEL: vd->dfsel = v; break;
	case REG_DRV_FEATURES:
		if (vd->gfsel < 2 && !(vd->status & STATUS_FEATURES_OK))
			set_half(&vd->guest_features, vd->gfsel == 1, v);
		break;
	case REG_DRV_FEATURES_SEL: vd->gfsel = v; break;
	case REG_QUEUE_SEL: vd->qsel = v; break;
	case REG_QUEUE_NUM:
		if (q_open)
			q->size = v <= VIRTQ_MAX_SIZE ? (uint16_t)v : 0;
		break;
	case REG_QUEUE_READY:
		if (q)
			queue_ready(vd, q, v);
		break;
	case REG_QUEUE_NOTIFY:
		if (v < vd->be_ops->nqueues)
			kick(vd, v);
		break;
	case REG_INT_ACK: vd->isr &= ~v; break;
	case REG_STATUS: status_write(vd, v); break;
	case REG_QUEUE_DESC_LO: case REG_QUEUE_DESC_HI:
		if (q_open)
			set_half(&q->desc_gpa, off & 4, v);
		break;
	case REG_QUEUE_DRIVER_LO: case REG_QUEUE_DRIVER_HI:
		if (q_open)
			set_half(&q->avail_gpa, off & 4, v);
		break;
	case REG_QUEUE_DEVICE_LO: case REG_QUEUE_DEVICE_HI:
		if (q_open)
			set_half(&q->used_gpa, off & 4, v);
		break;
	default: break;
	}
}

void virtio_mmio_io(struct vmm_dev *dev, uint64_t offset, uint8_t *data,
		    uint32_t len, bool is_write)
{
	struct virtio_dev *vd = dev->priv;

	pthread_mutex_lock(&dev->lock);
	if (offset >= REG_CONFIG) {
		uint64_t off = offset - REG_CONFIG;
		bool inside = off < vd->config_len &&
			      len <= vd->config_len - off;
		if (!is_write) {
			memset(data, 0, len);
			if (inside)
				memcpy(data, vd->config + off, len);
		} else if (inside && vd->be_ops->config_write) {
			vd->be_ops->config_write(vd, (uint32_t)off, data, len);
		}
	} else if (len == 4 && !(offset & 3)) {
		/* 4.2.2.2: registers are 32 bits, accessed whole. */
		if (is_write) {
			uint32_t v;
			memcpy(&v, data, 4);
			reg_write(vd, offset, v);
		} else {
			uint32_t v = reg_read(vd, offset);
			memcpy(data, &v, 4);
		}
	} else if (!is_write) {
		memset(data, 0, len);
	}
	pthread_mutex_unlock(&dev->lock);
}

/* Register the eventfds with this boot's KVM VM (they die with its fd). */
static void attach_kvm(struct virtio_dev *vd)
{
	struct vmm_vm *vm = vd->dev->vm;

	vd->ioeventfd = vd->irqfd = false;
	if (vm->vm_fd < 0)
		return;
	if (ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD) > 0) {
		vd->ioeventfd = true;
		for (unsigned i = 0; i < vd->be_ops->nqueues; i++) {
			struct kvm_ioeventfd io = {
				.datamatch = i,
				.addr = vd->dev->base + REG_QUEUE_NOTIFY,
				.len = 4,
				.fd = vd->kick_fd[i],
				.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
			};
			if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0)
				vd->ioeventfd = false;
		}
	}
	if (vd->dev->irq &&
	    ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQFD) > 0) {
		struct kvm_irqfd irq = { .fd = (uint32_t)vd->irq_fd,
					 .gsi = vd->dev->irq };
		vd->irqfd = ioctl(vm->vm_fd, KVM_IRQFD, &irq) == 0;
	}
}

void virtio_mmio_reset(struct vmm_dev *dev)
{
	struct virtio_dev *vd = dev->priv;

	pthread_mutex_lock(&dev->lock);
	device_reset(vd);
	attach_kvm(vd);
	pthread_mutex_unlock(&dev->lock);
}

static void *virtio_thread(void *arg)
{
	struct virtio_dev *vd = arg;
	struct epoll_event ev[8];

	for (;;) {
		int n = epoll_wait(vd->epfd, ev, 8, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return NULL;
		}
		for (int i = 0; i < n; i++) {
			unsigned kind = (unsigned)(ev[i].data.u64 >> 32);
			unsigned idx = (unsigned)ev[i].data.u64;
			uint64_t cnt;

			if (kind == EV_STOP)
				return NULL;
			pthread_mutex_lock(&vd->dev->lock);
			while (vd->paused && !vd->stopping)
				pthread_cond_wait(&vd->unpaused,
						  &vd->dev->lock);
			if (vd->stopping) {
				pthread_mutex_unlock(&vd->dev->lock);
				return NULL;
			}
			if (kind == EV_KICK && idx < vd->be_ops->nqueues) {
				(void)!read(vd->kick_fd[idx], &cnt, sizeof(cnt));
				vd->notifies++;
				if (virtio_driver_ok(vd) && vd->vq[idx].ready)
					vd->be_ops->notify(vd, idx);
			} else if (kind == EV_WATCH && idx < vd->nwatch) {
				vd->watch[idx].fn(vd, ev[i].events);
			}
			pthread_mutex_unlock(&vd->dev->lock);
		}
	}
}

static int add_fd(struct virtio_dev *vd, int fd, uint32_t events,
		  uint64_t data)
{
	struct epoll_event e = { .events = events, .data.u64 = data };
	return epoll_ctl(vd->epfd, EPOLL_CTL_ADD, fd, &e) < 0 ? -errno : 0;
}

int virtio_watch(struct virtio_dev *vd, int fd, uint32_t events,
		 virtio_watch_fn fn)
{
	if (vd->nwatch == VIRTIO_MAX_WATCH)
		return -ENOSPC;
	vd->watch[vd->nwatch].fd = fd;
	vd->watch[vd->nwatch].fn = fn;
	int rc = add_fd(vd, fd, events, EV(EV_WATCH, vd->nwatch));
	if (rc == 0)
		vd->nwatch++;
	return rc;
}

int virtio_watch_mod(struct virtio_dev *vd, int fd, uint32_t events)
{
	for (unsigned i = 0; i < vd->nwatch; i++) {
		if (vd->watch[i].fd != fd)
			continue;
		struct epoll_event e = { .events = events,
					 .data.u64 = EV(EV_WATCH, i) };
		return epoll_ctl(vd->epfd, EPOLL_CTL_MOD, fd, &e) < 0 ? -errno
								     : 0;
	}
	return -ENOENT;
}

int virtio_init(struct vmm_dev *dev, const struct virtio_backend *be_ops,
		void *be, uint64_t features)
{
	struct virtio_dev *vd = dev->priv;
	int rc;

	vd->dev = dev;
	vd->be_ops = be_ops;
	vd->be = be;
	vd->host_features = features & ~TRANSPORT_FEATURES;
	vd->irq_fd = vd->epfd = vd->stop_fd = -1;
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
		vd->kick_fd[i] = -1;
	if (be_ops->nqueues > VIRTIO_MAX_QUEUES)
		return -EINVAL;
	vd->epfd = epoll_create1(EPOLL_CLOEXEC);
	vd->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vd->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vd->epfd < 0 || vd->stop_fd < 0 || vd->irq_fd < 0)
		return -errno;
	if ((rc = add_fd(vd, vd->stop_fd, EPOLLIN, EV(EV_STOP, 0))))
		return rc;
	for (unsigned i = 0; i < be_ops->nqueues; i++) {
		vd->kick_fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vd->kick_fd[i] < 0)
			return -errno;
		if ((rc = add_fd(vd, vd->kick_fd[i], EPOLLIN, EV(EV_KICK, i))))
			return rc;
	}
	device_reset(vd);
	pthread_cond_init(&vd->unpaused, NULL);
	rc = pthread_create(&vd->thread, NULL, virtio_thread, vd);
	if (rc)
		return -rc;
	vd->thread_started = true;
	return 0;
}

/* Once the device lock was taken with paused set, the I/O thread is idle. */
void virtio_mmio_pause(struct vmm_dev *dev)
{
	struct virtio_dev *vd = dev->priv;

	if (!vd || !vd->be_ops)
		return;
	pthread_mutex_lock(&dev->lock);
	vd->paused = true;
	pthread_mutex_unlock(&dev->lock);
}

void virtio_mmio_resume(struct vmm_dev *dev)
{
	struct virtio_dev *vd = dev->priv;

	if (!vd || !vd->be_ops)
		return;
	pthread_mutex_lock(&dev->lock);
	vd->paused = false;
	if (vd->be_ops->resumed && virtio_driver_ok(vd))
		vd->be_ops->resumed(vd);
	pthread_cond_broadcast(&vd->unpaused);
	pthread_mutex_unlock(&dev->lock);
}

void virtio_mmio_destroy(struct vmm_dev *dev)
{
	struct virtio_dev *vd = dev->priv;

	if (!vd || !vd->be_ops)
		return;
	if (vd->thread_started) {
		uint64_t one = 1;
		pthread_mutex_lock(&dev->lock);
		vd->stopping = true;
		pthread_cond_broadcast(&vd->unpaused);
		pthread_mutex_unlock(&dev->lock);
		(void)!write(vd->stop_fd, &one, sizeof(one));
		pthread_join(vd->thread, NULL);
		vd->thread_started = false;
		pthread_cond_destroy(&vd->unpaused);
	}
	if (vd->be_ops->destroy)
		vd->be_ops->destroy(vd);
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
		if (vd->kick_fd[i] >= 0)
			close(vd->kick_fd[i]);
	if (vd->irq_fd >= 0)
		close(vd->irq_fd);
	if (vd->stop_fd >= 0)
		close(vd->stop_fd);
	if (vd->epfd >= 0)
		close(vd->epfd);
	vd->be_ops = NULL;
}

bool vmm_dev_is_virtio(const struct vmm_dev *dev)
{
	return dev->ops && dev->ops->io == virtio_mmio_io;
}
