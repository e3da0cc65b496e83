#ifndef QUORUM_SERVER_OAI_H
#define QUORUM_SERVER_OAI_H
/* An OpenAI chat completions request, read into what a workflow run
 * takes: the last user message is the query, earlier turns the history,
 * system (and developer) messages the system text. Pure: no I/O. */
#include <stddef.h>

#include <cjson/cJSON.h>

struct oai_req {
	cJSON *doc;              /* the parsed body; the strings below point into it */
	const char *model;
	char *query;             /* new (free with oai_req_release) */
	char *history;           /* "role: text" per earlier turn, blank-line separated; NULL: none */
	char *system;            /* system and developer texts joined; NULL: none */
	int stream;
	int include_usage;       /* stream_options.include_usage */
	int has_temperature;
	double temperature;
	int max_tokens;          /* max_tokens or max_completion_tokens; 0: not given */
	int want_report;         /* "quorum": {"report": true} */
};

/* What is wrong with a request: an OpenAI error's message and param. */
struct oai_err {
	char message[256];
	const char *param;       /* static; NULL: none */
	const char *code;        /* static; NULL: none */
};

/* What both APIs ask of a body first: one JSON object (into r->doc),
 * nested at most 32 deep, with no \u0000 in a string. Returns 0, or -1
 * with e saying why (nothing is then held). */
int oai_body_parse(struct oai_req *r, const char *body, size_t len, struct oai_err *e);

/* Parses body[0..len). Returns 0, or -1 with e saying why (nothing is
 * then held). */
int oai_req_parse(struct oai_req *r, const char *body, size_t len, struct oai_err *e);
void oai_req_release(struct oai_req *r);

#endif
