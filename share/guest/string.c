/*
 * The few libc string routines the kernel (and gcc's code generation, which
 * may emit memcpy/memset calls on its own) needs.  memcpy and memset are
 * one string instruction each, moving quadwords when both the address and
 * the length allow it: where KVM emulates guest code (DESIGN.md) every
 * iteration of a rep prefix costs about half a microsecond, so clearing a
 * page a byte at a time takes 2 ms and a quadword at a time 0.25 ms.
 */
#include "kzguest.h"

void *memcpy(void *d, const void *s, size_t n)
{
	void *ret = d;

	if ((((uintptr_t)d | (uintptr_t)s | n) & 7) == 0) {
		n /= 8;
		__asm__ volatile("rep movsq"
				 : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	} else {
		__asm__ volatile("rep movsb"
				 : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	}
	return ret;
}

void *memmove(void *d, const void *s, size_t n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;

	if (dp <= sp || dp >= sp + n)
		return memcpy(d, s, n);
	while (n--)
		dp[n] = sp[n];
	return d;
}

void *memset(void *d, int c, size_t n)
{
	void *ret = d;

	if ((((uintptr_t)d | n) & 7) == 0) {
		uint64_t q = (uint8_t)c * 0x0101010101010101ull;
		n /= 8;
		__asm__ volatile("rep stosq"
				 : "+D"(d), "+c"(n) : "a"(q) : "memory");
	} else {
		__asm__ volatile("rep stosb"
				 : "+D"(d), "+c"(n) : "a"(c) : "memory");
	}
	return ret;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		if (!*a)
			break;
	}
	return 0;
}

/* Decimal, or hexadecimal with 0x; false on junk or overflow. */
bool kz_parse_uint(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	unsigned base = 10, d;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return false;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	*out = v;
	return true;
}
