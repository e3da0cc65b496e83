/* The main of the test_providers executable: one group per file. */
#include "util.h"

int main(void)
{
	int failed = 0;
	failed += test_errclass();
	failed += test_sse();
	failed += test_openai_build();
	failed += test_openai_parse();
	failed += test_registry();
	return failed ? 1 : 0;
}
