/*
 * printf for the kernel: %c %s %d %i %u %x %X %p %%, with '-', '0', width,
 * and the l, ll, z length modifiers.  One formatting engine feeds either
 * the console (UART + kz_msgbuf, '\n' becomes "\r\n" on the wire only) or
 * a buffer.  A spinlock with interrupts off keeps lines from different
 * vCPUs whole; panic breaks it rather than wait on a CPU it has stopped.
 */
#include "kzguest.h"

struct sink {
	void (*put)(struct sink *s, char c);
	char *buf;
	size_t len, pos;
};

static volatile int console_lock;

static void console_put(struct sink *s __unused, char c)
{
	kz_msgbuf_putc(c);
	if (kz_hvc_console && !kz_panicking) {
		if (c == '\n')
			hvc_putc('\r');
		hvc_putc(c);
		return;
	}
	if (c == '\n')
		uart_putc('\r');
	uart_putc(c);
}

static void buf_put(struct sink *s, char c)
{
	if (s->pos + 1 < s->len)
		s->buf[s->pos] = c;
	s->pos++;
}

static int emit_num(struct sink *s, uint64_t v, unsigned base, bool upper,
		    bool neg, int width, bool zero, bool left)
{
	char tmp[24];
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	int n = 0, len, out = 0;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	len = n + neg;
	if (neg && zero) {
		s->put(s, '-');
		out++;
	}
	if (!left)
		for (; width > len; width--, out++)
			s->put(s, zero ? '0' : ' ');
	if (neg && !zero) {
		s->put(s, '-');
		out++;
	}
	while (n)
		s->put(s, tmp[--n]), out++;
	for (; left && width > len; width--, out++)
		s->put(s, ' ');
	return out;
}

static int format(struct sink *s, const char *fmt, va_list ap)
{
	int out = 0;

	for (; *fmt; fmt++) {
		bool zero = false, left = false;
		int width = 0, lng = 0;
		uint64_t u;
		int64_t i;
		const char *str;

		if (*fmt != '%') {
			s->put(s, *fmt);
			out++;
			continue;
		}
		fmt++;
		for (;; fmt++) {
			if (*fmt == '0')
				zero = true;
			else if (*fmt == '-')
				left = true;
			else
				break;
		}
		if (*fmt == '*') {
			width = va_arg(ap, int);
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z') {
			lng++;
			fmt++;
		}
		switch (*fmt) {
		case 'c':
			s->put(s, (char)va_arg(ap, int));
			out++;
			break;
		case 's':
			str = va_arg(ap, const char *);
			if (!str)
				str = "(null)";
			width -= (int)strlen(str);
			for (; !left && width > 0; width--, out++)
				s->put(s, ' ');
			for (; *str; str++, out++)
				s->put(s, *str);
			for (; left && width > 0; width--, out++)
				s->put(s, ' ');
			break;
		case 'd':
		case 'i':
			i = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
			out += emit_num(s, i < 0 ? -(uint64_t)i : (uint64_t)i,
					10, false, i < 0, width, zero, left);
			break;
		case 'u':
		case 'x':
		case 'X':
			u = lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);
			out += emit_num(s, u, *fmt == 'u' ? 10 : 16,
					*fmt == 'X', false, width, zero, left);
			break;
		case 'p':
			s->put(s, '0');
			s->put(s, 'x');
			out += 2 + emit_num(s, (uint64_t)va_arg(ap, void *), 16,
					    false, false, 16, true, false);
			break;
		case '%':
			s->put(s, '%');
			out++;
			break;
		case '\0':
			return out;
		default:	/* unknown: print it as written */
			s->put(s, '%');
			s->put(s, *fmt);
			out += 2;
			break;
		}
	}
	return out;
}

static uint64_t console_enter(void)
{
	uint64_t flags = read_rflags();
	unsigned spins = 0;

	cli();
	while (__atomic_exchange_n(&console_lock, 1, __ATOMIC_ACQUIRE)) {
		/* After a panic the holder may be stopped for good. */
		if (kz_panicking && ++spins > 1000000)
			break;
		cpu_relax();
	}
	return flags;
}

static void console_leave(uint64_t flags)
{
	__atomic_store_n(&console_lock, 0, __ATOMIC_RELEASE);
	if (flags & 0x200)
		sti();
}

void kz_console_break_lock(void)
{
	__atomic_store_n(&console_lock, 0, __ATOMIC_RELEASE);
}

int kz_vprintf(const char *fmt, va_list ap)
{
	struct sink s = { .put = console_put };
	uint64_t flags = console_enter();
	int n = format(&s, fmt, ap);

	console_leave(flags);
	return n;
}

int kz_printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = kz_vprintf(fmt, ap);
	va_end(ap);
	return n;
}

void kz_puts(const char *s)
{
	kz_printf("%s", s);
}

int kz_vsnprintf(char *buf, size_t len, const char *fmt, va_list ap)
{
	struct sink s = { .put = buf_put, .buf = buf, .len = len };
	int n = format(&s, fmt, ap);

	if (len)
		buf[s.pos < len ? s.pos : len - 1] = '\0';
	return n;
}

int kz_snprintf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = kz_vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n;
}
