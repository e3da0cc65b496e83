#ifndef QUORUM_TEST_AGGREGATORS_H
#define QUORUM_TEST_AGGREGATORS_H

/* One cmocka group per file; main runs them all. */
int test_extract_group(void);
int test_normalize_group(void);
int test_vote_group(void);
int test_synthesize_group(void);
int test_judge_group(void);
int test_rank_group(void);
int test_pii_group(void);
int test_route_group(void);
int test_plan_group(void);
int test_cascade_group(void);
int test_decide_group(void);

#endif
