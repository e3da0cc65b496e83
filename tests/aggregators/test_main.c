#include "tests.h"

int main(void)
{
	int failed = 0;
	failed += test_extract_group();
	failed += test_normalize_group();
	failed += test_vote_group();
	failed += test_synthesize_group();
	failed += test_judge_group();
	failed += test_rank_group();
	failed += test_pii_group();
	failed += test_route_group();
	failed += test_plan_group();
	failed += test_cascade_group();
	failed += test_decide_group();
	return failed ? 1 : 0;
}
