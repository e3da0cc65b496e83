/* dag/: every number a file gives has a range, refused with its key and
 * the range when it is outside; continue_on_error is a boolean on every
 * node; a base_url is an http(s) URL that never reads a key variable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../common/buf.h"
#include "util.h"

#define HDR "version: 1\n"
#define TPL "{kind: template, text: x}"
#define GEN "nodes: {a: {kind: generate, models: [m]}}\n"

/* Loads text, asserts exactly one diagnostic, msg, placed where `mark`
 * (the first occurrence after `after`, when given) starts. */
static void expect_at(const char *text, const char *after, const char *mark, const char *msg)
{
	const char *from = after ? strstr(text, after) : text;
	assert_non_null(from);
	const char *at = strstr(from, mark);
	assert_non_null(at);
	int line = 1, col = 1;
	for (const char *p = text; p < at; p++) {
		col = *p == '\n' ? 1 : col + 1;
		line += *p == '\n';
	}
	expect_one(text, line, col, msg);
}

/* One model key written as `KEY: VALUE` on model m (line 3). */
static void model_key(const char *kv, const char *msg)
{
	char text[512];
	snprintf(text, sizeof(text), HDR "models:\n  m: {provider: ollama, model: x, %s}\n"
		 GEN, kv);
	/* At the value: after the last ": " of kv. */
	const char *v = kv;
	for (const char *p = strstr(kv, ": "); p; p = strstr(p + 1, ": "))
		v = p + 2;
	expect_at(text, "model: x, ", v, msg);
}

static void test_model_numbers(void **state)
{
	(void)state;
	model_key("rpm: 1e15", "'rpm' must be between 0 and 100000, got 1e15");
	model_key("rpm: .inf", "'rpm' must be between 0 and 100000, got .inf");
	model_key("rpm: .nan", "'rpm' must be between 0 and 100000, got .nan");
	model_key("rpm: -1", "'rpm' must be a non-negative number, got -1");
	model_key("max_concurrency: 1000000",
		  "'max_concurrency' must be between 0 and 100000, got 1000000");
	model_key("max_concurrency: 1e300",
		  "'max_concurrency' must be a non-negative integer, got 1e300");
	expect_at(HDR "models:\n  m: {provider: ollama, model: x, price: {input: 1e300, "
		  "output: 1}}\n" GEN, NULL, "1e300", "'input' must be between 0 and 100000, got 1e300");
	model_key("max_tokens: 2000000",
		  "'max_tokens' must be between 1 and 1000000, got 2000000");
	model_key("max_tokens: 99999999999999999999999",
		  "'max_tokens' must be between 1 and 1000000, got 99999999999999999999999");
	model_key("max_response_bytes: 2147483648",
		  "'max_response_bytes' must be between 1024 and 1073741824, got 2147483648");
	model_key("retries: 1000",
		  "'retries' must be between 0 and 100, got 1000");
	model_key("timeout: 1e15",
		  "'timeout' must be between 1ms and 168h (7 days), got 1e15");
	model_key("idle_timeout: 169h",
		  "'idle_timeout' must be between 1ms and 168h (7 days), got 169h");
	model_key("first_token_timeout: 99999999999999999999m",
		  "'first_token_timeout' must be between 1ms and 168h (7 days), got "
		  "99999999999999999999m");

	/* The bounds themselves, and what was accepted before, still are. */
	struct qdiags d;
	struct workflow *wf = load_text(HDR "models:\n  m: {provider: ollama, model: x, "
					"rpm: 100000, max_concurrency: 100000, max_tokens: 1000000, "
					"max_response_bytes: 1073741824, retries: 100, "
					"timeout: 168h, idle_timeout: 604800, price: {input: 100000, "
					"output: 0}}\n"
					"  n: {provider: ollama, model: y, rpm: 0.5, "
					"max_concurrency: 0, timeout: 500ms}\n" GEN, &d);
	if (!wf)
		print_diags(&d);
	assert_non_null(wf);
	const struct wf_model *m = workflow_model(wf, "m");
	assert_true(m->rpm == 100000);
	assert_int_equal(m->max_concurrency, 100000);
	assert_int_equal(m->cs.max_tokens, 1000000);
	assert_int_equal(m->cs.max_response, 1 << 30);
	assert_int_equal(m->cs.timeout_ms, 7LL * 24 * 3600 * 1000);
	assert_int_equal(m->cs.idle_ms, 7LL * 24 * 3600 * 1000);
	assert_true(workflow_model(wf, "n")->rpm == 0.5);
	workflow_free(wf);
	qdiags_release(&d);
}

static void test_defaults_and_budget(void **state)
{
	(void)state;
	expect_one(HDR "defaults: {temperature: 1e300}\nnodes: {a: " TPL "}\n", 2, 25,
		   "'temperature' must be between 0 and 2, got 1e300");
	expect_one(HDR "defaults: {top_p: .nan}\nnodes: {a: " TPL "}\n", 2, 19,
		   "'top_p' must be between 0 and 1, got .nan");
	expect_one(HDR "defaults: {seed: 1e3}\nnodes: {a: " TPL "}\n", 2, 18,
		   "'seed' must be an integer, got 1e3");
	expect_one(HDR "defaults: {seed: 99999999999999999999}\nnodes: {a: " TPL "}\n", 2, 18,
		   "'seed' must be an integer, got 99999999999999999999");
	expect_one(HDR "budget: {max_usd: 1e9}\nnodes: {a: " TPL "}\n", 2, 19,
		   "'max_usd' must be between 0 and 1000000, got 1e9");
	expect_one(HDR "budget: {max_calls: 10000000000}\nnodes: {a: " TPL "}\n", 2, 21,
		   "'max_calls' must be between 1 and 1000000000, got 10000000000");
	expect_one(HDR "budget: {max_usd: .inf}\nnodes: {a: " TPL "}\n", 2, 19,
		   "'max_usd' must be between 0 and 1000000, got .inf");
	expect_one(HDR "budget: {max_usd: -.inf}\nnodes: {a: " TPL "}\n", 2, 19,
		   "'max_usd' must be a non-negative number, got -.inf");
}

static void test_node_numbers(void **state)
{
	(void)state;
#define M HDR "models: {m: {provider: ollama, model: x}}\nnodes:\n"
	expect_at(M "  a: {kind: generate, models: [m], samples: 1001}\n", NULL, "1001",
		  "'samples' must be between 1 and 1000, got 1001");
	expect_at(M "  a: {kind: generate, models: [m], samples: 1e9}\n", NULL, "1e9",
		  "'samples' must be a positive integer, got 1e9");
	expect_at(M "  a: {kind: generate, models: [m], min_ok: 1000001}\n", NULL, "1000001",
		  "'min_ok' must be between 1 and 1000000, got 1000001");
	expect_at(M "  a: {kind: generate, models: [m], timeout: 8d}\n", NULL, "8d",
		  "invalid duration '8d' (use 500ms, 30s, 2m or a number of seconds)");
	expect_at(M "  a: {kind: generate, models: [m], timeout: 200h}\n", NULL, "200h",
		  "'timeout' must be between 0 (none) and 168h (7 days), got 200h");
	expect_at(M "  a: {kind: generate, models: [m]}\n"
		  "  v: {kind: vote, from: a, weights: {m: 1e300}}\n", NULL, "1e300",
		  "'weights: m' must be between 0 and 1000000, got 1e300");
	expect_at(M "  a: {kind: moa, proposers: [m], aggregator: m, layers: 101}\n", NULL, "101",
		  "'layers' must be between 1 and 100, got 101");
	expect_at(M "  a: {kind: plan, model: m, max_subtasks: 101}\n", NULL, "101",
		  "'max_subtasks' must be between 1 and 100, got 101");
	expect_at(M "  a: {kind: cascade, models: [m, m], accept: {self_check: {samples: "
		  "101}}}\n", NULL, "101", "'samples' must be between 1 and 100, got 101");
	expect_at(M "  a: {kind: cascade, models: [m, m], accept: {judge: {model: m, "
		  "threshold: 1e300}}}\n", NULL, "1e300",
		  "'threshold' must be between 0 and 10, got 1e300");
	expect_at(M "  a: {kind: route, default: m, routes: [{when: {min_chars: "
		  "10000000000}, to: m}]}\n", NULL, "10000000000",
		  "'min_chars' must be between 0 and 1000000000, got 10000000000");
	expect_at(M "  a: {kind: route, default: m, routes: [{when: {max_chars: 1e9}, "
		  "to: m}]}\n", NULL, "1e9", "'max_chars' must be a non-negative integer, got 1e9");
	/* Zero, the node timeout's "none", stays allowed. */
	struct qdiags d;
	struct workflow *wf = load_text(M "  a: {kind: generate, models: [m], timeout: 0, "
					"samples: 1000}\n", &d);
	assert_non_null(wf);
	assert_int_equal(wf->nodes[0]->timeout_ms, 0);
	assert_int_equal(wf->nodes[0]->samples, 1000);
	workflow_free(wf);
	qdiags_release(&d);
#undef M
}

static void test_continue_on_error(void **state)
{
	(void)state;
	struct qdiags d;
	struct workflow *wf = load_text(
		HDR "models: {m: {provider: ollama, model: x}}\n"
		"nodes:\n"
		"  a: {kind: generate, models: [m], continue_on_error: true}\n"
		"  b: {kind: vote, from: a, continue_on_error: false}\n"
		"  c: {kind: council, members: [m], chairman: m, continue_on_error: true}\n"
		"  d: {kind: moa, proposers: [m], aggregator: m, layers: 2}\n"
		"  e: {kind: plan, model: m, continue_on_error: true}\n"
		"  f:\n"
		"    kind: template\n"
		"    text: '{{ nodes.b.output }}{{ nodes.c.output }}{{ nodes.d.output }}"
		"{{ nodes.e.output }}'\n"
		"    continue_on_error: true\n", &d);
	if (!wf)
		print_diags(&d);
	assert_non_null(wf);
	assert_int_equal(workflow_node(wf, "a")->continue_on_error, 1);
	assert_int_equal(workflow_node(wf, "b")->continue_on_error, 0);
	/* A council or moa passes it to every node it expands into. */
	assert_int_equal(workflow_node(wf, "c.answers")->continue_on_error, 1);
	assert_int_equal(workflow_node(wf, "c.review")->continue_on_error, 1);
	assert_int_equal(workflow_node(wf, "c")->continue_on_error, 1);
	assert_int_equal(workflow_node(wf, "d.layer1")->continue_on_error, 0);
	assert_int_equal(workflow_node(wf, "d")->continue_on_error, 0);
	assert_int_equal(workflow_node(wf, "e")->continue_on_error, 1);
	assert_int_equal(workflow_node(wf, "e")->run->continue_on_error, 0);
	assert_int_equal(workflow_node(wf, "f")->continue_on_error, 1);
	workflow_free(wf);
	qdiags_release(&d);

	expect_at(HDR "nodes: {a: {kind: template, text: x, continue_on_error: yes}}\n", NULL,
		  "yes", "'continue_on_error' must be a boolean (true or false), got 'yes'");
	expect_at(HDR "nodes: {a: {kind: template, text: x, continue_on_error: 1}}\n", NULL,
		  "1}", "'continue_on_error' must be a boolean (true or false), got 1");
	expect_at(HDR "nodes: {a: {kind: template, text: x, contine_on_error: true}}\n", NULL,
		  "contine", "unknown key 'contine_on_error' in node 'a' (template) (did you "
		  "mean 'continue_on_error'?)");
	expect_at(HDR "models: {m: {provider: ollama, model: x}}\n"
		  "nodes: {p: {kind: plan, model: m, run: {models: [m], continue_on_error: "
		  "true}}}\n", NULL, "continue_on_error",
		  "'continue_on_error' has no place in the 'run' of a plan (write it on the "
		  "plan node 'p')");
}

/* ---- base_url ---- */

static void url_ok(const char *url)
{
	char why[160] = "";
	if (workflow_url_check(url, why, sizeof(why)))
		fprintf(stderr, "refused %s: %s\n", url, why);
	assert_int_equal(workflow_url_check(url, why, sizeof(why)), 0);
}

static void url_bad(const char *url, const char *want)
{
	char why[160] = "";
	assert_int_equal(workflow_url_check(url, why, sizeof(why)), -1);
	assert_string_equal(why, want);
}

static void test_url_check(void **state)
{
	(void)state;
	url_ok("http://127.0.0.1:8080/v1");
	url_ok("https://api.openai.com/v1");
	url_ok("HTTPS://Example.COM");
	url_ok("http://localhost");
	url_ok("http://ollama_host:11434/");
	url_ok("http://[::1]:11434/api");
	url_ok("http://[2001:db8::1]");
	url_ok("http://example.com.:65535?x=1#f");
	url_ok("http://h:1");
	url_bad("", "it is empty");
	url_bad("file:///etc/passwd", "the scheme 'file' is not allowed (use http:// or "
		"https://)");
	url_bad("gopher://example.com", "the scheme 'gopher' is not allowed (use http:// or "
		"https://)");
	url_bad("ftp://example.com/", "the scheme 'ftp' is not allowed (use http:// or "
		"https://)");
	url_bad("example.com/v1", "it has no scheme (start it with http:// or https://)");
	url_bad("localhost:8080", "it has no scheme (start it with http:// or https://)");
	url_bad("mailto:x@y", "the scheme 'mailto' is not allowed (use http:// or https://)");
	url_bad("http:example.com", "'http:' must be followed by '//' and the host");
	url_bad("http://example.com:99999", "port 99999 is out of range (use 1 to 65535)");
	url_bad("http://example.com:0/", "port 0 is out of range (use 1 to 65535)");
	url_bad("http://example.com:123456789012345678901234567890",
		"port 12345678901234567890 is out of range (use 1 to 65535)");
	url_bad("http://example.com:/v1", "the port after ':' is empty (remove the ':' or "
		"write a port from 1 to 65535)");
	url_bad("http://example.com:80a", "the port is not a number (write a port from 1 to "
		"65535)");
	url_bad("http:///v1", "it has no host (write http://HOST or http://HOST:PORT)");
	url_bad("http://", "it has no host (write http://HOST or http://HOST:PORT)");
	url_bad("http://a..b", "the host is not a valid name or address (letters, digits, "
		"'-', '_' and '.')");
	url_bad("http://-a.com", "the host is not a valid name or address (letters, digits, "
		"'-', '_' and '.')");
	url_bad("http://a$b.com", "the host is not a valid name or address (letters, digits, "
		"'-', '_' and '.')");
	url_bad("http://[::1", "the host is not a valid IPv6 address in [brackets]");
	url_bad("http://[zz]", "the host is not a valid IPv6 address in [brackets]");
	url_bad("http://[::1]x", "unexpected text after the IPv6 address (a port is written "
		"[::1]:8080)");
	url_bad("http://user:pw@example.com", "it holds a user name or password (credentials "
		"never go in the URL; name the key's variable with api_key_env)");
	url_bad("http://example.com/a b", "it contains a space or a control character");
	url_bad("http://exa\nmple.com", "it contains a space or a control character");
	/* A short buffer gets a cut reason, never an overflow. */
	char tiny[8];
	assert_int_equal(workflow_url_check("ftp://x", tiny, sizeof(tiny)), -1);
	assert_string_equal(tiny, "the sch");
	assert_int_equal(workflow_url_check(NULL, NULL, 0), -1);
}

#define URL(u) HDR "models:\n  m: {provider: openai, model: x, base_url: " u "}\n" \
	"nodes: {a: {kind: generate, models: [m]}}\n"
#define UCOL 45

static void test_base_url_load(void **state)
{
	(void)state;
	expect_one(URL("file:///etc/passwd"), 3, UCOL, "invalid base_url 'file:///etc/passwd': "
		   "the scheme 'file' is not allowed (use http:// or https://)");
	expect_one(URL("gopher://x"), 3, UCOL, "invalid base_url 'gopher://x': the scheme "
		   "'gopher' is not allowed (use http:// or https://)");
	expect_one(URL("'http://h:99999/v1'"), 3, UCOL, "invalid base_url 'http://h:99999/v1': "
		   "port 99999 is out of range (use 1 to 65535)");
	expect_one(URL("''"), 3, UCOL, "invalid base_url '': it is empty");
	/* A password is never repeated back. */
	expect_one(URL("'http://me:hunter2@h'"), 3, UCOL, "invalid base_url: it holds a user "
		   "name or password (credentials never go in the URL; name the key's variable "
		   "with api_key_env)");
	/* The default of ${VAR:-default} is what is checked. */
	expect_one(URL("'${HOST:-ftp://h}'"), 3, UCOL, "invalid base_url '${HOST:-ftp://h}': "
		   "the scheme 'ftp' is not allowed (use http:// or https://)");
	expect_one(URL("'http://h:${PORT:-70000}'"), 3, UCOL, "invalid base_url "
		   "'http://h:${PORT:-70000}': port 70000 is out of range (use 1 to 65535)");
	expect_one(URL("'file://${P}'"), 3, UCOL, "invalid base_url 'file://${P}': the scheme "
		   "'file' is not allowed (use http:// or https://)");
	/* Never the variable that holds a key: placed at its '${'. */
	expect_one(URL("'https://h/${OPENAI_API_KEY}'"), 3, UCOL + 11, "'base_url' reads "
		   "${OPENAI_API_KEY}, which holds an API key: that would put the key in the URL "
		   "(the key goes only in api_key_env)");
	expect_one(URL("'${ANTHROPIC_API_KEY:-http://h}'"), 3, UCOL + 1, "'base_url' reads "
		   "${ANTHROPIC_API_KEY}, which holds an API key: that would put the key in the "
		   "URL (the key goes only in api_key_env)");
	expect_one(URL("'http://h/?k=${MY_ROUTER_API_KEY}'"), 3, UCOL + 13, "'base_url' reads "
		   "${MY_ROUTER_API_KEY}, which holds an API key: that would put the key in the "
		   "URL (the key goes only in api_key_env)");
	/* Its own key variable, and any other model's. */
	expect_diag(HDR "models:\n  m: {provider: openai, model: x, api_key_env: SECRET, "
		    "base_url: 'http://${SECRET}'}\n  n: {provider: ollama, model: y, "
		    "api_key_env: TOKEN}\n  o: {provider: ollama, model: z, base_url: "
		    "'http://${TOKEN}'}\n"
		    "nodes: {a: {kind: generate, models: [m, n, o]}}\n",
		    3, 74, "'base_url' reads ${SECRET}, which holds an API key: that would put "
		   "the key in the URL (the key goes only in api_key_env)");
	expect_diag(HDR "models:\n  m: {provider: openai, model: x, api_key_env: SECRET, "
		    "base_url: 'http://${SECRET}'}\n  n: {provider: ollama, model: y, "
		    "api_key_env: TOKEN}\n  o: {provider: ollama, model: z, base_url: "
		    "'http://${TOKEN}'}\n"
		    "nodes: {a: {kind: generate, models: [m, n, o]}}\n",
		    5, 53, "'base_url' reads ${TOKEN}, which holds an API key: that would put "
		    "the key in the URL (the key goes only in api_key_env)");
	expect_one(URL("'http://${1HOST}'"), 3, UCOL + 8, "'base_url' names the variable "
		   "'1HOST', which is not a valid name (use letters, digits and '_'; a default "
		   "is written ${NAME:-default})");
	expect_one(URL("'${HOST-http://h}'"), 3, UCOL + 1, "'base_url' names the variable "
		   "'HOST-http://h', which is not a valid name (use letters, digits and '_'; a "
		   "default is written ${NAME:-default})");
	expect_one(URL("'http://${HOST'"), 3, UCOL + 8,
		   "'base_url' has '${' without its closing '}'");

	/* What is accepted: plain URLs, defaults, a variable where the host
	 * or the whole URL goes (checked again at run time). */
	static const char *const ok[] = {
		"http://127.0.0.1:8080/v1", "https://openrouter.ai/api/v1",
		"'${OLLAMA_HOST:-http://127.0.0.1:11434}'", "'${BASE}'", "'${BASE}/v1'",
		"'http://${HOST}:${PORT}/v1'", "'https://${HOST:-api.openai.com}/v1'",
		"'http://[::1]:${PORT:-8080}'",
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char text[512];
		snprintf(text, sizeof(text), URL("%s"), ok[i]);
		struct qdiags d;
		struct workflow *wf = load_text(text, &d);
		if (!wf) {
			fprintf(stderr, "refused %s\n", ok[i]);
			print_diags(&d);
		}
		assert_non_null(wf);
		workflow_free(wf);
		qdiags_release(&d);
	}
}

static void test_params_bounded(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	buf_puts(&b, HDR "x-big: &big \"");
	for (int i = 0; i < 300 * 1024; i++)
		buf_putc(&b, 'x');
	buf_puts(&b, "\"\nmodels:\n  m: {provider: ollama, model: x, params: "
		 "{a: *big, b: *big, c: *big, d: *big}}\n" GEN);
	struct qdiags d;
	qdiags_init(&d, NULL);
	assert_null(workflow_load_string("wf.yaml", b.data, b.len, NULL, &d));
	assert_int_equal(d.n, 1);
	assert_true(has_diag(&d, 4, 43, "'params' holds 1228804 bytes of text, more than "
			     "1048576 (put long text in the prompt or system instead)"));
	qdiags_release(&d);
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model_numbers),
		cmocka_unit_test(test_defaults_and_budget),
		cmocka_unit_test(test_node_numbers),
		cmocka_unit_test(test_continue_on_error),
		cmocka_unit_test(test_url_check),
		cmocka_unit_test(test_base_url_load),
		cmocka_unit_test(test_params_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
