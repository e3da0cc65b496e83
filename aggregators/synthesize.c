#include "synthesize.h"

#include "../dag/template.h"

/* The aggregate-and-synthesize instruction of Mixture-of-Agents (Wang et
 * al., 2024), without "open-source": the candidates may come from any
 * provider. The last sentence keeps the answer from narrating its sources
 * ("Response 2 says..."), which a user of the final answer never saw. */
const char synth_default_system[] =
	"You have been provided with a set of responses from various models to "
	"the latest user query. Your task is to synthesize these responses into "
	"a single, high-quality response. It is crucial to critically evaluate "
	"the information provided in these responses, recognizing that some of "
	"it may be biased or incorrect. Your response should not simply "
	"replicate the given answers but should offer a refined, accurate, and "
	"comprehensive reply to the instruction. Ensure your response is "
	"well-structured, coherent, and adheres to the highest standards of "
	"accuracy and reliability. Answer the query directly: do not mention "
	"that you were given several responses, and do not refer to them by "
	"number.";

int synth_build_system(struct buf *out, const char *system,
		       const char *const *texts, size_t n)
{
	if (buf_puts(out, system ? system : synth_default_system) ||
	    buf_puts(out, "\n\nResponses from models:\n\n"))
		return -1;
	return tmpl_format_responses(out, texts, n);
}
