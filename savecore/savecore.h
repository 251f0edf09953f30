/*
 * Dumping a machine that is running (or stopped after a panic) inside
 * kzhost: stop it just long enough for a consistent copy, let a child
 * write the file, and file it as DIR/vmcore.N (DIR/bounds holds the next
 * N, as savecore(8) keeps it).
 */
#ifndef KZ_SAVECORE_SAVECORE_H
#define KZ_SAVECORE_SAVECORE_H

#include <stddef.h>
#include <stdint.h>

struct vmm_vm;

struct savecore_req {
	const char *dir;		/* created when missing */
	const char *zone;
	const char *uuid;
	const char *kernel_path;	/* may be NULL */
	const char *symbols_path;	/* ELF or System.map; NULL: the kernel */
	const char *reason;		/* "requested" or "panic" */
	const char *panic_msg;		/* NULL: from the guest when it can */
};

struct savecore_result {
	char path[1024];
	unsigned n;			/* the N of vmcore.N */
	uint64_t file_size;
	uint64_t ram_bytes;
	uint64_t saved_bytes;
	uint64_t stop_us;		/* vCPUs held for the copy */
	uint64_t total_us;		/* request to file in place */
	char panic_msg[256];
};

/*
 * Dump vm.  The vCPUs are paused only while registers are read and the
 * process forks; the child writes the file (temp file, fsync, link into
 * place).  Returns 0 or -errno with one line in err; on failure no
 * vmcore.N exists and bounds is unchanged.
 */
int savecore_vm(struct vmm_vm *vm, const struct savecore_req *q,
		struct savecore_result *res, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Human-readable size ("12.3 MiB") for messages. */
void savecore_size_str(uint64_t bytes, char *out, size_t outlen);

#endif
