/*
 * i8042 keyboard controller, only as far as a VM needs it: the CPU reset
 * line (command 0xFE, or output port bit 0 cleared) and enough of the
 * command set that guests probing the controller get sane answers.  No
 * keyboard or mouse is attached, so device commands go unanswered, which
 * guests read as "no device".
 */
#include "device.h"
#include "devices.h"
#include "vm.h"

#include <string.h>

#define STS_OBF		0x01	/* output buffer full */
#define STS_SYS		0x04	/* system flag: self-test passed */
#define STS_CMD		0x08	/* last write was a command */

#define CMD_READ_CCB	0x20
#define CMD_WRITE_CCB	0x60
#define CMD_SELF_TEST	0xAA
#define CMD_KBD_TEST	0xAB
#define CMD_READ_OUT	0xD0
#define CMD_WRITE_OUT	0xD1
#define CMD_PULSE_RESET	0xFE

struct i8042 {
	uint8_t status;
	uint8_t ccb;		/* controller command byte */
	uint8_t out;		/* output buffer */
	uint8_t pending_cmd;	/* command waiting for its data byte */
};

static void put_out(struct i8042 *k, uint8_t v)
{
	k->out = v;
	k->status |= STS_OBF;
}

static void i8042_command(struct vmm_dev *dev, struct i8042 *k, uint8_t cmd)
{
	k->status |= STS_CMD;
	switch (cmd) {
	case CMD_READ_CCB:
		put_out(k, k->ccb);
		break;
	case CMD_WRITE_CCB:
	case CMD_WRITE_OUT:
		k->pending_cmd = cmd;
		break;
	case CMD_SELF_TEST:
		put_out(k, 0x55);
		break;
	case CMD_KBD_TEST:
		put_out(k, 0x00);
		break;
	case CMD_READ_OUT:
		put_out(k, 0x01);	/* reset line deasserted */
		break;
	case CMD_PULSE_RESET:
		vmm_vm_guest_reset(dev->vm, "i8042 reset");
		break;
	default:
		break;		/* enable/disable ports and the like */
	}
}

static void i8042_data(struct vmm_dev *dev, struct i8042 *k, uint8_t v)
{
	k->status &= ~STS_CMD;
	switch (k->pending_cmd) {
	case CMD_WRITE_CCB:
		k->ccb = v;
		break;
	case CMD_WRITE_OUT:
		if (!(v & 0x01))
			vmm_vm_guest_reset(dev->vm, "i8042 reset");
		break;
	default:
		break;		/* to the absent keyboard */
	}
	k->pending_cmd = 0;
}

static void i8042_io(struct vmm_dev *dev, uint64_t offset, uint8_t *data,
		     uint32_t len, bool is_write)
{
	struct i8042 *k = dev->priv;
	/* The device spans 0x60-0x64; only 0x60 and 0x64 exist. */
	bool is_cmd_port = offset == 4;

	pthread_mutex_lock(&dev->lock);
	if (is_write) {
		if (is_cmd_port)
			i8042_command(dev, k, data[0]);
		else if (offset == 0)
			i8042_data(dev, k, data[0]);
	} else {
		memset(data, 0, len);
		if (is_cmd_port) {
			data[0] = k->status;
		} else if (offset == 0) {
			data[0] = k->out;
			k->status &= ~STS_OBF;
		} else {
			data[0] = 0xFF;
		}
	}
	pthread_mutex_unlock(&dev->lock);
}

static void i8042_reset(struct vmm_dev *dev)
{
	struct i8042 *k = dev->priv;
	pthread_mutex_lock(&dev->lock);
	memset(k, 0, sizeof(*k));
	k->status = STS_SYS;
	k->ccb = 0x45;	/* translate, system flag, keyboard interrupt */
	pthread_mutex_unlock(&dev->lock);
}

static int i8042_create(struct vmm_dev *dev)
{
	i8042_reset(dev);
	return 0;
}

const struct vmm_dev_ops vmm_i8042_ops = {
	.name = "i8042",
	.priv_size = sizeof(struct i8042),
	.create = i8042_create,
	.io = i8042_io,
	.reset = i8042_reset,
};
