#include "tests.h"

int main(void)
{
	int failed = 0;
	failed += test_extract_group();
	failed += test_normalize_group();
	failed += test_vote_group();
	failed += test_synthesize_group();
	return failed ? 1 : 0;
}
