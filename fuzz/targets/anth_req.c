/* quorum serve's reader of an Anthropic Messages request body
 * (server/anth.c), the bytes a client POSTs to /v1/messages. The same
 * promises as oai_req's; temperature is Anthropic's 0..1, and usage is
 * always reported.
 *
 * Input: as oai_req's: byte 0 steers out-of-memory (high bit: the Nth
 * allocation fails, N its low 7 bits plus one); the rest is the body. */
#include "../../server/anth.h"
#include "../fuzz.h"
#include "../server_req.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_server_req(anth_req_parse, 1.0, data, size);
}
