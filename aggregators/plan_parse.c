#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../common/alloc.h"
#include "../common/json.h"
#include "jsonscan.h"
#include "plan.h"

/* Validation of a planner's reply. Every message is addressed to the
 * planner, which gets it back once: it says what is wrong and what is
 * wanted, and quotes ids (cut to 40 bytes), never whole tasks. */

/* A planner reads "list" better than "array". */
static const char *json_type(const cJSON *v)
{
	return cJSON_IsArray(v) ? "a list" : json_type_name(v);
}

/* The first object in the reply with "subtasks". */
static cJSON *find_plan(const char *reply, struct qerr *e)
{
	struct json_scan js;
	size_t len = strlen(reply);
	int objects = 0;
	cJSON *j;
	json_scan_init(&js, reply, len);
	while ((j = json_scan_next(&js, NULL, NULL))) {
		if (cJSON_GetObjectItemCaseSensitive(j, "subtasks"))
			return j;
		objects++;
		cJSON_Delete(j);
	}
	if (js.bad_at != SIZE_MAX && js.bad_open) {
		qerr_set(e, "the reply's JSON object is never closed; answer with the "
			    "whole object {\"subtasks\": [...]}");
	} else if (js.bad_at != SIZE_MAX) {
		int line, col;
		json_scan_where(reply, js.bad_err, &line, &col);
		qerr_set(e, "the reply is not valid JSON: error at line %d, column %d", line,
			 col);
	} else if (objects) {
		qerr_set(e, "the JSON object has no \"subtasks\" list; answer with "
			    "{\"subtasks\": [{\"id\": \"s1\", \"task\": \"...\", \"needs\": []}]}");
	} else {
		qerr_set(e, "the reply has no JSON object; answer with only "
			    "{\"subtasks\": [{\"id\": \"s1\", \"task\": \"...\", \"needs\": []}]}");
	}
	return NULL;
}

/* Index of the subtask with id, among the first n, or SIZE_MAX. */
static size_t find_id(const struct plan *p, size_t n, const char *id)
{
	for (size_t k = 0; k < n; k++)
		if (strcmp(p->subtasks[k].id, id) == 0)
			return k;
	return SIZE_MAX;
}

/* A non-empty string member, or an error naming subtask `which`. */
static const char *string_member(const cJSON *item, const char *key, const char *which,
				 struct qerr *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(item, key);
	if (!v) {
		qerr_set(e, "subtask %s has no \"%s\"", which, key);
		return NULL;
	}
	if (!cJSON_IsString(v)) {
		qerr_set(e, "subtask %s: \"%s\" must be a string, not %s", which, key,
			 json_type(v));
		return NULL;
	}
	if (!v->valuestring[strspn(v->valuestring, " \t\r\n")]) {
		qerr_set(e, "subtask %s: \"%s\" is empty", which, key);
		return NULL;
	}
	return v->valuestring;
}

/* The planner's estimates, leniently: what cannot be read is unknown. */
static void read_estimates(const cJSON *item, struct plan_subtask *t)
{
	static const char *const names[] = {"easy", "medium", "hard"};
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(item, "difficulty");
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(item, "tokens");
	t->difficulty = -1;
	t->tokens = -1;
	if (cJSON_IsNumber(d) && d->valuedouble >= 0 && d->valuedouble <= 1)
		t->difficulty = d->valuedouble;
	for (int i = 0; i < 3 && cJSON_IsString(d); i++)
		if (!strcasecmp(d->valuestring, names[i]))
			t->difficulty = (2 * i + 1) / 6.0;
	if (cJSON_IsNumber(n) && n->valuedouble >= 0 && n->valuedouble <= 1e9)
		t->tokens = (long)n->valuedouble;
}

/* Reads id and task of item k (0-based) into p->subtasks[k]. */
static int read_subtask(const cJSON *item, size_t k, struct plan *p, struct arena *a,
			struct qerr *e)
{
	char which[64];
	snprintf(which, sizeof(which), "%zu", k + 1);
	if (!cJSON_IsObject(item))
		return qerr_set(e, "subtask %zu must be an object with \"id\", \"task\" and "
				   "\"needs\", not %s", k + 1, json_type(item));
	const char *id = string_member(item, "id", which, e);
	if (!id)
		return -1;
	size_t dup = find_id(p, k, id);
	if (dup != SIZE_MAX)
		return qerr_set(e, "subtasks %zu and %zu have the same id '%.40s'; ids must be "
				   "unique", dup + 1, k + 1, id);
	snprintf(which, sizeof(which), "'%.40s'", id);
	const char *task = string_member(item, "task", which, e);
	if (!task)
		return -1;
	p->subtasks[k].id = arena_strdup(a, id);
	p->subtasks[k].task = arena_strdup(a, task);
	read_estimates(item, &p->subtasks[k]);
	return p->subtasks[k].id && p->subtasks[k].task ? 0 : qerr_set(e, "out of memory");
}

/* "s1, s2, s3" (cut) for a message about an unknown id. */
static void known_ids(const struct plan *p, char *out, size_t n)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t k = 0; k < p->n && used + 1 < n; k++) {
		int w = snprintf(out + used, n - used, "%s%.40s", k ? ", " : "",
				 p->subtasks[k].id);
		if (w < 0 || (size_t)w >= n - used) {
			snprintf(out + used, n - used, ", ...");
			break;
		}
		used += (size_t)w;
	}
}

static int read_needs(const cJSON *item, size_t k, struct plan *p, struct arena *a,
		      struct qerr *e)
{
	struct plan_subtask *t = &p->subtasks[k];
	const cJSON *needs = cJSON_GetObjectItemCaseSensitive(item, "needs"), *v;
	if (!needs || cJSON_IsNull(needs))
		return 0;
	if (!cJSON_IsArray(needs))
		return qerr_set(e, "subtask '%.40s': \"needs\" must be a list of ids, not %s",
				t->id, json_type(needs));
	size_t count = (size_t)cJSON_GetArraySize(needs);
	t->needs = count ? arena_alloc(a, count * sizeof(size_t)) : NULL;
	if (count && !t->needs)
		return qerr_set(e, "out of memory");
	size_t entry = 0;
	cJSON_ArrayForEach(v, needs) {
		entry++;
		if (!cJSON_IsString(v))
			return qerr_set(e, "subtask '%.40s': needs entry %zu must be an id string, "
					   "not %s", t->id, entry, json_type(v));
		size_t j = find_id(p, p->n, v->valuestring);
		if (j == SIZE_MAX) {
			char ids[200];
			known_ids(p, ids, sizeof(ids));
			return qerr_set(e, "subtask '%.40s' needs unknown id '%.40s' (known ids: "
					   "%s)", t->id, v->valuestring, ids);
		}
		size_t m = 0;
		while (m < t->nneeds && t->needs[m] != j)
			m++;
		if (m == t->nneeds)
			t->needs[t->nneeds++] = j;
	}
	return 0;
}

/* The first need of u that is not placed yet: on a cycle every unplaced
 * subtask has one. */
static size_t unplaced_need(const struct plan *p, const unsigned char *placed, size_t u)
{
	size_t m = 0;
	while (placed[p->subtasks[u].needs[m]])
		m++;
	return p->subtasks[u].needs[m];
}

/* Walks needs among the unplaced subtasks from the first of them until
 * one repeats, and reports that loop: "s1 -> s2 -> s1". */
static int report_cycle(const struct plan *p, const unsigned char *placed, size_t *step,
			struct qerr *e)
{
	size_t u = 0, t = 0;
	while (placed[u])
		u++;
	while (!step[u]) {
		step[u] = ++t;
		u = unplaced_need(p, placed, u);
	}
	char path[400] = "";
	size_t used = 0, start = u;
	do {
		int w = snprintf(path + used, sizeof(path) - used, "%.40s -> ",
				 p->subtasks[u].id);
		if (w > 0 && (size_t)w < sizeof(path) - used)
			used += (size_t)w;
		u = unplaced_need(p, placed, u);
	} while (u != start);
	snprintf(path + used, sizeof(path) - used, "%.40s", p->subtasks[start].id);
	return qerr_set(e, "the needs form a cycle: %s (each needs the next); a subtask "
			   "may only need subtasks that come before it", path);
}

/* Kahn's algorithm, always taking the lowest listed index that is ready,
 * so a plan whose needs point backwards keeps its order. O(n^2): n is at
 * most max_subtasks. */
static int order_plan(struct plan *p, struct arena *a, struct qerr *e)
{
	unsigned char *placed = q_calloc(p->n, 1);
	size_t *step = q_calloc(p->n, sizeof(size_t));
	p->order = arena_alloc(a, p->n * sizeof(size_t));
	int rc = -1;
	if (!placed || !step || !p->order) {
		qerr_set(e, "out of memory");
		goto out;
	}
	size_t done = 0;
	while (done < p->n) {
		size_t k = 0;
		for (; k < p->n; k++) {
			size_t m = 0;
			while (!placed[k] && m < p->subtasks[k].nneeds &&
			       placed[p->subtasks[k].needs[m]])
				m++;
			if (!placed[k] && m == p->subtasks[k].nneeds)
				break;
		}
		if (k == p->n)
			break;
		placed[k] = 1;
		p->order[done++] = k;
	}
	rc = done == p->n ? 0 : report_cycle(p, placed, step, e);
out:
	q_free(step);
	q_free(placed);
	return rc;
}

static int read_plan(const cJSON *list, size_t max_subtasks, struct arena *a,
		     struct plan *p, struct qerr *e)
{
	if (!cJSON_IsArray(list))
		return qerr_set(e, "\"subtasks\" must be a list, not %s", json_type(list));
	size_t n = (size_t)cJSON_GetArraySize(list);
	if (n == 0)
		return qerr_set(e, "\"subtasks\" is empty; give at least one subtask");
	if (n > max_subtasks)
		return qerr_set(e, "the plan has %zu subtasks, more than max_subtasks %zu", n,
				max_subtasks);
	p->subtasks = arena_alloc(a, n * sizeof(*p->subtasks));
	if (!p->subtasks)
		return qerr_set(e, "out of memory");
	const cJSON *item;
	size_t k = 0;
	cJSON_ArrayForEach(item, list) {
		if (read_subtask(item, k++, p, a, e))
			return -1;
	}
	p->n = n;
	k = 0;
	cJSON_ArrayForEach(item, list) {
		if (read_needs(item, k++, p, a, e))
			return -1;
	}
	return order_plan(p, a, e);
}

int plan_parse(const char *reply, size_t max_subtasks, struct arena *a,
	       struct plan *out, struct qerr *e)
{
	memset(out, 0, sizeof(*out));
	cJSON *j = find_plan(reply ? reply : "", e);
	if (!j)
		return -1;
	struct plan p = {0};
	int rc = read_plan(cJSON_GetObjectItemCaseSensitive(j, "subtasks"), max_subtasks, a,
			   &p, e);
	cJSON_Delete(j);
	if (rc == 0)
		*out = p;
	return rc;
}
