/* The 8254 programmable interval timer (Intel 82C54 data sheet) and the
 * PIIX3's port 0x61 (NMI status and control: channel 2's gate and
 * output, the refresh toggle) in user space, for UEFI runs (see pic.c for
 * why those have no in-kernel irqchip).  Counters are computed from the
 * host's monotonic clock at 1.193182 MHz, not stepped: reading a count or
 * an output costs one clock read.  Channel 0 drives IRQ 0: the run loop
 * asks vmc_pit_poll() on every exit whether an edge is due (several due
 * at once are one edge, as a late interrupt on hardware is) and sleeps
 * until vmc_pit_next() while the vCPU halts.
 */
#include <string.h>
#include <time.h>

#include "validate/vmm/vmm.h"

#define PIT_HZ 1193182ULL
#define NS 1000000000ULL
/* Periods shorter than this raise IRQ 0 no more often. */
#define MIN_PERIOD_NS 100000ULL

enum { RW_LSB = 1, RW_MSB, RW_WORD0, RW_WORD1 };

uint64_t vmc_pit_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * NS + (uint64_t)t.tv_nsec;
}

void vmc_pit_init(struct vmc_pit *p)
{
	memset(p, 0, sizeof(*p));
	for (unsigned i = 0; i < 3; i++) {
		p->ch[i].count = 0x10000;
		p->ch[i].gate = i != 2;
		p->ch[i].load_ns = vmc_pit_now();
	}
}

static uint64_t ticks(const struct vmc_pit_channel *c, uint64_t now)
{
	uint64_t d = now > c->load_ns ? now - c->load_ns : 0;

	/* d < 2^64 / PIT_HZ for 488 years of run */
	return d / NS * PIT_HZ + d % NS * PIT_HZ / NS;
}

static uint32_t get_count(const struct vmc_pit_channel *c, uint64_t now)
{
	uint64_t d = ticks(c, now);

	switch (c->mode) {
	case 0: case 1: case 4: case 5:
		return (uint32_t)((c->count - d) & 0xffff);
	case 3:
		return (uint32_t)(c->count - (2 * d) % c->count);
	default:
		return (uint32_t)(c->count - d % c->count);
	}
}

static int get_out(const struct vmc_pit_channel *c, uint64_t now)
{
	uint64_t d = ticks(c, now);

	switch (c->mode) {
	case 1:
		return d < c->count;
	case 2:
		return d % c->count != 0 || d == 0;
	case 3:
		return d % c->count < (c->count + 1) / 2;
	case 4: case 5:
		return d != c->count;
	default:
		return d >= c->count;
	}
}

static uint64_t period_ns(const struct vmc_pit_channel *c)
{
	uint64_t ns = (uint64_t)c->count * NS / PIT_HZ;

	return ns < MIN_PERIOD_NS ? MIN_PERIOD_NS : ns;
}

static void load_count(struct vmc_pit *p, unsigned ch, uint32_t val)
{
	struct vmc_pit_channel *c = &p->ch[ch];

	c->count = val ? val : 0x10000;
	c->load_ns = vmc_pit_now();
	if (ch != 0)
		return;
	p->periodic = c->mode == 2 || c->mode == 3;
	p->next_ns = c->mode <= 4 && c->mode != 1 ?
		     c->load_ns + period_ns(c) : 0;
}

static void latch(struct vmc_pit_channel *c, uint64_t now)
{
	if (c->count_latched)
		return;
	c->latched = (uint16_t)get_count(c, now);
	c->count_latched = c->rw_mode;
}

static void pit_control(struct vmc_pit *p, uint8_t val)
{
	unsigned ch = val >> 6, access = (val >> 4) & 3;
	uint64_t now = vmc_pit_now();
	struct vmc_pit_channel *c;

	if (ch == 3) {			/* read-back */
		for (unsigned i = 0; i < 3; i++) {
			c = &p->ch[i];
			if (!(val & (2u << i)))
				continue;
			if (!(val & 0x20))
				latch(c, now);
			if (!(val & 0x10) && !c->status_latched) {
				c->status = (uint8_t)(get_out(c, now) << 7 |
						      c->rw_mode << 4 |
						      c->mode << 1 | c->bcd);
				c->status_latched = 1;
			}
		}
		return;
	}
	c = &p->ch[ch];
	if (!access) {
		latch(c, now);
		return;
	}
	c->rw_mode = (uint8_t)access;
	c->read_state = c->write_state = (uint8_t)access;
	c->mode = (val >> 1) & 7;
	if (c->mode > 5)
		c->mode -= 4;
	c->bcd = val & 1;
	if (ch == 0)
		p->next_ns = 0;	/* no IRQ 0 until a count comes */
}

static void pit_write(struct vmc_pit *p, unsigned ch, uint8_t val)
{
	struct vmc_pit_channel *c = &p->ch[ch];

	switch (c->write_state) {
	case RW_LSB:
		load_count(p, ch, val);
		break;
	case RW_MSB:
		load_count(p, ch, (uint32_t)val << 8);
		break;
	case RW_WORD0:
		c->write_latch = val;
		c->write_state = RW_WORD1;
		break;
	case RW_WORD1:
		load_count(p, ch, c->write_latch | (uint32_t)val << 8);
		c->write_state = RW_WORD0;
		break;
	}
}

static uint8_t pit_read(struct vmc_pit_channel *c)
{
	uint32_t n;

	if (c->status_latched) {
		c->status_latched = 0;
		return c->status;
	}
	if (c->count_latched) {
		n = c->latched;
		switch (c->count_latched) {
		case RW_MSB:
			c->count_latched = 0;
			return (uint8_t)(n >> 8);
		case RW_WORD0:
			c->count_latched = RW_MSB;
			return (uint8_t)n;
		default:
			c->count_latched = 0;
			return (uint8_t)n;
		}
	}
	n = get_count(c, vmc_pit_now());
	switch (c->read_state) {
	case RW_MSB:
		return (uint8_t)(n >> 8);
	case RW_WORD0:
		c->read_state = RW_WORD1;
		return (uint8_t)n;
	case RW_WORD1:
		c->read_state = RW_WORD0;
		return (uint8_t)(n >> 8);
	default:
		return (uint8_t)n;
	}
}

/* Port 0x61: bit 0 channel 2's gate, bit 1 speaker data, bit 4 the
 * refresh toggle (every 15 us), bit 5 channel 2's output. */
static void port61(struct vmc_pit *p, bool write, uint8_t *val)
{
	struct vmc_pit_channel *c = &p->ch[2];
	uint64_t now = vmc_pit_now();

	if (!write) {
		*val = (uint8_t)(c->gate | p->speaker << 1 |
				 ((now / 15085) & 1) << 4 |
				 get_out(c, now) << 5);
		return;
	}
	/* a rising gate restarts the modes that count on it */
	if ((*val & 1) && !c->gate && c->mode != 0 && c->mode != 4)
		c->load_ns = now;
	c->gate = *val & 1;
	p->speaker = (*val >> 1) & 1;
}

void vmc_pit_io(struct vmc_pit *p, uint16_t port, bool write, uint8_t *val)
{
	if (port == 0x61)
		port61(p, write, val);
	else if (port == 0x43)
		write ? pit_control(p, *val) : (void)(*val = 0xff);
	else if (port >= 0x40 && port < 0x43)
		write ? pit_write(p, port - 0x40, *val) :
			(void)(*val = pit_read(&p->ch[port - 0x40]));
}

bool vmc_pit_poll(struct vmc_pit *p, uint64_t now)
{
	uint64_t per;

	if (!p->next_ns || now < p->next_ns)
		return false;
	if (!p->periodic) {
		p->next_ns = 0;
		return true;
	}
	per = period_ns(&p->ch[0]);
	p->next_ns += ((now - p->next_ns) / per + 1) * per;
	return true;
}

uint64_t vmc_pit_next(const struct vmc_pit *p)
{
	return p->next_ns;
}
