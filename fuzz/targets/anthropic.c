/* The anthropic wire format's response parser, streamed and whole, fed whole
 * and in slices that must agree, and its error-body reader. */
#include "../provider_drive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_provider("anthropic", data, size);
}
