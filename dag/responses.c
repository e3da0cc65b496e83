#include "template.h"

int tmpl_format_responses(struct buf *out, const char *const *texts, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (buf_printf(out, "%s%zu. ", i ? "\n\n" : "", i + 1) ||
		    buf_puts(out, texts[i] ? texts[i] : ""))
			return -1;
	}
	return 0;
}
