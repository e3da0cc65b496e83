/* The lines batch and eval read: JSON Lines, each an object with "query",
 * "id" and "inputs" (eval adds "expected", "rubric", "compare"), or a bare
 * JSON string that is the query. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../common/fileio.h"
#include "../common/json.h"
#include "cli.h"

const char *data_next(struct data_reader *r)
{
	ssize_t n;
	while ((n = getline(&r->buf, &r->cap, r->f)) > 0) {
		r->line++;
		if (r->shards > 1 && (r->line - 1) % r->shards != r->shard)
			continue;
		while (n && (r->buf[n - 1] == '\n' || r->buf[n - 1] == '\r'))
			r->buf[--n] = '\0';
		if (!n || strspn(r->buf, " \t") == (size_t)n)
			continue;
		if (memchr(r->buf, '\0', (size_t)n)) {
			data_malformed(r, "holds a NUL byte");
			continue;
		}
		return r->buf;
	}
	return NULL;
}

void data_malformed(struct data_reader *r, const char *why)
{
	fprintf(stderr, "%squorum: %s:%ld: %s\n", r->progress ? "\r\033[K" : "", r->name,
		r->line, why);
	r->malformed++;
}

int data_open(struct data_reader *r, const char *path)
{
	r->name = "<stdin>";
	if (!path || !strcmp(path, "-")) {
		r->f = stdin;
		return 0;
	}
	r->name = path;
	if ((r->f = file_open_read(path, "r")))
		return 0;
	fprintf(stderr, "quorum: cannot read '%s': %s\n", path, strerror(errno));
	return QUORUM_EXIT_INVALID;
}

void data_reader_release(struct data_reader *r)
{
	if (r->f && r->f != stdin)
		fclose(r->f);
	free(r->buf);
	r->f = NULL;
	r->buf = NULL;
}

/* A number's (or boolean's) text, kept in the item (so it goes with the document), as
 * an input's or an expected answer's: 4, not 4.0. */
static const char *value_text(cJSON *it, const char **why)
{
	if (!(it->valuestring = cJSON_PrintUnformatted(it)))
		*why = "out of memory";
	return it->valuestring;
}

/* A line's inputs (strings; numbers and booleans as written), then the
 * base ones it does not name. */
static const char *line_inputs(struct data_line *d, const cJSON *inputs,
			       const struct quorum_input *base, size_t nbase)
{
	size_t n = (size_t)cJSON_GetArraySize(inputs) + nbase;
	if (!(d->inputs = calloc(n + 1, sizeof(*d->inputs))))
		return "out of memory";
	cJSON *it;
	cJSON_ArrayForEach(it, inputs) {
		const char *why = NULL;
		const char *v = cJSON_IsString(it) ? it->valuestring : NULL;
		if (!v && (cJSON_IsNumber(it) || cJSON_IsBool(it)) && !(v = value_text(it, &why)))
			return why;
		if (!v)
			return "an input must be a string, a number or a boolean";
		d->inputs[d->ninputs++] = (struct quorum_input){it->string, v};
	}
	for (size_t i = 0; i < nbase; i++)
		if (!cJSON_GetObjectItemCaseSensitive(inputs, base[i].name))
			d->inputs[d->ninputs++] = base[i];
	return NULL;
}

/* The string member key of an object line, or NULL; *why when it is there
 * but not a string (or, with numbers, a number: "expected": 4). */
static const char *member_str(cJSON *d, const char *key, int numbers, const char **why)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(d, key);
	if (numbers && cJSON_IsNumber(v) && !*why)
		return value_text(v, why);
	if (v && !cJSON_IsString(v) && !*why) {
		static char msg[64];
		snprintf(msg, sizeof(msg), "\"%s\" must be a string%s", key,
			 numbers ? " or a number" : "");
		*why = msg;
	}
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* What is wrong with a line's "id", or NULL. A number goes back out as
 * cJSON prints it: past 2^53 that is not what the line says, so the
 * reports could not be joined to their queries. */
static const char *id_problem(const cJSON *id)
{
	if (!id || cJSON_IsString(id))
		return NULL;
	if (!cJSON_IsNumber(id))
		return "\"id\" must be a string or a number";
	double v = id->valuedouble;
	if (!(v >= -9007199254740992.0 && v <= 9007199254740992.0) || v != (double)(long long)v)
		return "\"id\" as a number must be a whole number within +-2^53 (write it as "
		       "a string)";
	return NULL;
}

int data_line_parse(struct data_line *d, const char *text, long line,
		    const struct quorum_input *base, size_t nbase, const char **why)
{
	memset(d, 0, sizeof(*d));
	d->line = line;
	*why = NULL;
	/* Null-terminated: {"query": "a"} junk is a broken line, not "a". */
	if (!(d->doc = cJSON_ParseWithOpts(text, NULL, 1))) {
		*why = "not JSON (a line is one object or one string)";
		return -1;
	}
	if (json_has_nul(text, strlen(text))) {
		/* A C string would end at it: half a query, unseen. */
		*why = "holds a NUL character (\\u0000), which quorum cannot pass on";
		data_line_release(d);
		return -1;
	}
	cJSON *doc = d->doc;
	if (cJSON_IsString(doc)) {
		d->query = doc->valuestring;
	} else if (!cJSON_IsObject(doc)) {
		*why = "a line is an object or a string";
	} else {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(doc, "id");
		const cJSON *inputs = cJSON_GetObjectItemCaseSensitive(doc, "inputs");
		d->query = member_str(doc, "query", 0, why);
		d->expected = member_str(doc, "expected", 1, why);
		d->rubric = member_str(doc, "rubric", 0, why);
		d->compare = member_str(doc, "compare", 0, why);
		if (!*why && id_problem(id))
			*why = id_problem(id);
		else if (!*why && inputs && !cJSON_IsObject(inputs))
			*why = "\"inputs\" must be an object";
		if (!*why && id && !(d->id = cJSON_PrintUnformatted(id)))
			*why = "out of memory";
		if (!*why)
			*why = line_inputs(d, inputs, base, nbase);
	}
	if (!*why && !d->inputs)
		*why = line_inputs(d, NULL, base, nbase);
	if (!*why && !d->id && (d->id = malloc(24)))
		snprintf(d->id, 24, "%ld", line);
	if (!*why && !d->id)
		*why = "out of memory";
	if (*why) {
		data_line_release(d);
		return -1;
	}
	return 0;
}

void data_line_release(struct data_line *d)
{
	free(d->id);
	free(d->inputs);
	cJSON_Delete(d->doc);
	memset(d, 0, sizeof(*d));
}

const char *data_run_error(char *why, const char *wf_path)
{
	why[strcspn(why, "\n")] = '\0';
	char *s = why;
	size_t n = strlen(wf_path);
	if (!strncmp(s, "quorum: ", 8))
		s += 8;
	/* "WF: ..." or "WF:LINE:COL: ...": the workflow is not the line. */
	if (!strncmp(s, wf_path, n) && s[n] == ':') {
		char *p = s + n + 1;
		while ((*p >= '0' && *p <= '9') || *p == ':')
			p++;
		if (*p == ' ')
			s = p + 1;
	}
	/* A line lacks what run's command line would give. */
	static char told[160];
	char name[64];
	if (sscanf(s, "missing required input '%63[^']'", name) == 1) {
		if (!strcmp(name, "query"))
			snprintf(told, sizeof(told), "the line has no \"query\", which the "
				 "workflow needs");
		else
			snprintf(told, sizeof(told), "the line's \"inputs\" lack '%s', which the "
				 "workflow needs", name);
		return told;
	}
	/* The inputs came from the line, not from --input. */
	char *in = strstr(s, " in --input");
	if (in)
		memmove(in, in + 11, strlen(in + 11) + 1);
	return s;
}
