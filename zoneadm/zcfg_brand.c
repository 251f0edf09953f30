/*
 * Brand kz templates.  A template is zonecfg command text run on a blank
 * configuration by `create -t NAME`; SYSkz is what `create` uses.
 *
 * SYSkz follows the defaults of solaris-kz(7): 4 virtual CPUs, 4G of
 * memory with largest-available pages, autoboot false, auto-shutdown
 * shutdown, and one anet (net0) with lower-link and mac-address auto.
 * It has no device: `zoneadm install` puts a kernel at ZONEPATH/boot,
 * and a zone with no device boots that.  Tests and small hosts lower the
 * CPUs and memory (select virtual-cpu; set ncpus=1; end ...).
 */
#include <string.h>

#include "zonecfg.h"

static const char syskz[] =
	"set autoboot=false\n"
	"set auto-shutdown=shutdown\n"
	"add virtual-cpu\n"
	"set ncpus=4\n"
	"end\n"
	"add capped-memory\n"
	"set physical=4G\n"
	"set pagesize-policy=largest-available\n"
	"end\n"
	"add anet\n"
	"set linkname=net0\n"
	"set lower-link=auto\n"
	"set mac-address=auto\n"
	"set link-protection=mac-nospoof\n"
	"end\n";

static const struct {
	const char *name;
	const char *text;
} templates[] = {
	{ "SYSkz", syskz },
	{ "SYSsolaris-kz", syskz },	/* the Solaris name, accepted too */
	{ "SYSblank", "" },
};

const char *const zcfg_template_names[] = { "SYSkz", "SYSsolaris-kz",
					    "SYSblank", NULL };

const char *zcfg_template(const char *name)
{
	for (size_t i = 0; i < sizeof(templates) / sizeof(templates[0]); i++)
		if (strcmp(name, templates[i].name) == 0)
			return templates[i].text;
	return NULL;
}
