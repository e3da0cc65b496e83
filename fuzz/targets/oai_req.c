/* quorum serve's reader of an OpenAI chat completions request body
 * (server/oai.c), the bytes a client POSTs to /v1/chat/completions.
 * Either a request and no error, or an error with a message and nothing
 * held; a request read has a model, a query, and its fields in range.
 *
 * Input: byte 0 steers out-of-memory: with its high bit set, the Nth
 * allocation of the parse fails (N its low 7 bits, plus one); the rest is
 * the body, as is (not NUL-terminated: the reader must keep to len). */
#include "../../server/oai.h"
#include "../fuzz.h"
#include "../server_req.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_server_req(oai_req_parse, 2.0, data, size);
}
