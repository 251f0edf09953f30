/*
 * MC146818 CMOS real-time clock.
 *
 * The clock registers read the host's UTC time (BCD, 24-hour, as a PC
 * BIOS leaves them); a zone's clock follows its host's.  Writes to them
 * are kept as an offset from host time so a guest that sets its clock
 * reads back what it set.  The rest of the 128 bytes is plain CMOS RAM.
 * No periodic or alarm interrupts: guests on KVM keep time with kvmclock
 * and the LAPIC timer.
 */
#include "device.h"
#include "devices.h"

#include <string.h>
#include <time.h>

#define REG_SEC		0x00
#define REG_MIN		0x02
#define REG_HOUR	0x04
#define REG_WDAY	0x06
#define REG_MDAY	0x07
#define REG_MON		0x08
#define REG_YEAR	0x09
#define REG_A		0x0A
#define REG_B		0x0B
#define REG_C		0x0C
#define REG_D		0x0D
#define REG_CENTURY	0x32

#define B_24H		0x02
#define B_BINARY	0x04
#define D_VALID		0x80

struct rtc {
	uint8_t index;
	uint8_t ram[128];
	time_t offset;		/* guest time minus host time, seconds */
};

static uint8_t to_bcd(const struct rtc *r, unsigned v)
{
	if (r->ram[REG_B] & B_BINARY)
		return (uint8_t)v;
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

static unsigned from_bcd(const struct rtc *r, uint8_t v)
{
	if (r->ram[REG_B] & B_BINARY)
		return v;
	return (v >> 4) * 10 + (v & 0x0F);
}

static void guest_tm(const struct rtc *r, struct tm *tm)
{
	time_t now = time(NULL) + r->offset;
	gmtime_r(&now, tm);
}

static uint8_t rtc_clock_read(const struct rtc *r, unsigned reg)
{
	struct tm tm;
	guest_tm(r, &tm);
	switch (reg) {
	case REG_SEC: return to_bcd(r, (unsigned)tm.tm_sec);
	case REG_MIN: return to_bcd(r, (unsigned)tm.tm_min);
	case REG_HOUR: return to_bcd(r, (unsigned)tm.tm_hour);
	case REG_WDAY: return to_bcd(r, (unsigned)tm.tm_wday + 1);
	case REG_MDAY: return to_bcd(r, (unsigned)tm.tm_mday);
	case REG_MON: return to_bcd(r, (unsigned)tm.tm_mon + 1);
	case REG_YEAR: return to_bcd(r, (unsigned)tm.tm_year % 100);
	default: return to_bcd(r, (unsigned)(tm.tm_year + 1900) / 100);
	}
}

/* Fold one written clock field into the offset from host time. */
static void rtc_clock_write(struct rtc *r, unsigned reg, uint8_t v)
{
	struct tm tm;
	guest_tm(r, &tm);
	unsigned val = from_bcd(r, v);
	switch (reg) {
	case REG_SEC: tm.tm_sec = (int)val; break;
	case REG_MIN: tm.tm_min = (int)val; break;
	case REG_HOUR: tm.tm_hour = (int)val; break;
	case REG_MDAY: tm.tm_mday = (int)val; break;
	case REG_MON: tm.tm_mon = (int)val - 1; break;
	case REG_YEAR: tm.tm_year = (tm.tm_year / 100) * 100 + (int)val; break;
	case REG_CENTURY:
		tm.tm_year = ((int)val * 100 - 1900) + tm.tm_year % 100;
		break;
	default: return;	/* day of week follows from the date */
	}
	time_t t = timegm(&tm);
	if (t != (time_t)-1)
		r->offset = t - time(NULL);
}

static bool is_clock_reg(unsigned reg)
{
	return reg <= REG_YEAR || reg == REG_CENTURY;
}

static void rtc_io(struct vmm_dev *dev, uint64_t offset, uint8_t *data,
		   uint32_t len, bool is_write)
{
	struct rtc *r = dev->priv;

	pthread_mutex_lock(&dev->lock);
	if (offset == 0) {
		if (is_write)
			r->index = data[0] & 0x7F;	/* bit 7: NMI mask */
		else
			memset(data, 0xFF, len);
		goto out;
	}
	unsigned reg = r->index;
	if (is_write) {
		if (is_clock_reg(reg))
			rtc_clock_write(r, reg, data[0]);
		else if (reg != REG_C && reg != REG_D)
			r->ram[reg] = reg == REG_A ? data[0] & 0x7F : data[0];
	} else {
		memset(data, 0, len);
		if (is_clock_reg(reg))
			data[0] = rtc_clock_read(r, reg);
		else
			data[0] = r->ram[reg];
	}
out:
	pthread_mutex_unlock(&dev->lock);
}

static void rtc_reset(struct vmm_dev *dev)
{
	struct rtc *r = dev->priv;
	pthread_mutex_lock(&dev->lock);
	memset(r->ram, 0, sizeof(r->ram));
	r->index = 0;
	r->ram[REG_A] = 0x26;		/* 32.768 kHz base, 1024 Hz rate; UIP clear */
	r->ram[REG_B] = B_24H;		/* BCD, 24-hour */
	r->ram[REG_D] = D_VALID;
	pthread_mutex_unlock(&dev->lock);
}

static int rtc_create(struct vmm_dev *dev)
{
	struct rtc *r = dev->priv;
	r->offset = 0;
	rtc_reset(dev);
	return 0;
}

const struct vmm_dev_ops vmm_rtc_ops = {
	.name = "rtc",
	.priv_size = sizeof(struct rtc),
	.create = rtc_create,
	.io = rtc_io,
	.reset = rtc_reset,
};
