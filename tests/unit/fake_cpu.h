/*
 * A fake target of one vCPU over fake_ram.h: its registers are `regs`,
 * set by the test; there is no run control.  Include after fake_ram.h.
 */
#ifndef KZ_TESTS_FAKE_CPU_H
#define KZ_TESTS_FAKE_CPU_H

static struct kz_regs regs;

static int fake_regs(struct kz_target *t, unsigned cpu, struct kz_regs *r)
{
	(void)t;
	if (cpu)
		return -EINVAL;
	*r = regs;
	return 0;
}

static const struct kz_target_ops fake_ops = {
	.name = "fake", .get_regs = fake_regs,
	.read_phys = fake_ram_read, .write_phys = fake_ram_write,
};
static struct kz_target tgt = { .ops = &fake_ops };

#endif
