// The official `openai` SDK against `quorum serve` (its base URL at
// quorum): workflows answer as models, whole and streamed, and quorum's
// errors arrive as the SDK's own error classes; and the official
// `@anthropic-ai/sdk` against its Messages endpoint. The workflows call
// quorum-mock, started as the other SDK tests start it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';

import { answers, startMock } from './mock.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const quorumBin = process.env.QUORUM_BIN ?? path.resolve(here, '../../build/quorum');

const workflow = (base, model, extra = '') => `version: 1
${extra}models:
  m: {provider: openai, base_url: ${base}/v1, api_key_env: "", model: ${model}}
nodes:
  a: {kind: generate, models: [m], prompt: "{{ query }}"}
`;

// A council: two members, a chairman whose answer streams (drip: the
// mock writes it two characters at a time, 2 ms apart).
const council = (base) => `version: 1
name: council
models:
  a: {provider: openai, base_url: ${base}/v1, api_key_env: "", model: plain}
  b: {provider: openai, base_url: ${base}/v1, api_key_env: "", model: unicode}
  c: {provider: openai, base_url: ${base}/v1, api_key_env: "", model: drip}
nodes:
  members: {kind: generate, models: [a, b], prompt: "{{ query }}"}
  chair: {kind: synthesize, from: members, model: c}
output: chair
`;

// Starts `quorum serve ARGS` on a free port; resolves to { url, stop() }.
async function startServe(dir, args) {
  if (!existsSync(quorumBin)) {
    throw new Error(`quorum not found at ${quorumBin}: build first or set QUORUM_BIN`);
  }
  const child = spawn(quorumBin, ['serve', '--listen', '127.0.0.1:0', '--quiet', ...args], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const port = await new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => {
      stderr += d;
      const m = /on http:\/\/127\.0\.0\.1:(\d+)/.exec(stderr);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`quorum serve exited with ${code}: ${stderr}`)));
    child.on('error', reject);
  });
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
      if (child.exitCode !== 0) {
        throw new Error(`quorum serve exited with ${child.exitCode ?? child.signalCode}: ${stderr}`);
      }
    },
  };
}

describe('openai SDK against quorum serve', () => {
  let mock;
  let dir;
  let serve;
  let client;

  before(async () => {
    mock = await startMock();
    dir = mkdtempSync(path.join(os.tmpdir(), 'quorum-serve-sdk-'));
    writeFileSync(path.join(dir, 'plain.yaml'), workflow(mock.url, 'plain'));
    writeFileSync(path.join(dir, 'unicode.yaml'), workflow(mock.url, 'unicode'));
    writeFileSync(path.join(dir, 'drip.yaml'), workflow(mock.url, 'drip'));
    writeFileSync(path.join(dir, 'slow.yaml'), workflow(mock.url, 'slow'));
    writeFileSync(path.join(dir, 'down.yaml'), workflow(mock.url, 'unavailable', 'defaults: {retries: 0}\n'));
    writeFileSync(path.join(dir, 'council.yaml'), council(mock.url));
    serve = await startServe(dir, ['plain.yaml', 'unicode.yaml', 'drip.yaml', 'slow.yaml',
      'down.yaml', 'council.yaml']);
    client = new OpenAI({ apiKey: 'unused', baseURL: `${serve.url}/v1`, maxRetries: 0, logLevel: 'off' });
  });
  after(async () => {
    await serve?.stop();
    await mock?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const ask = (model, extra = {}) =>
    client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'Which city is the capital of Australia?' }],
      ...extra,
    });

  it('lists the workflows as models', async () => {
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    assert.deepEqual(ids, ['plain', 'unicode', 'drip', 'slow', 'down', 'council']);
  });

  it('retrieves one workflow as a model, and names an unknown one', async () => {
    const m = await client.models.retrieve('council');
    assert.equal(m.id, 'council');
    assert.equal(m.object, 'model');
    assert.equal(m.owned_by, 'quorum');
    assert.ok(Number.isInteger(m.created));
    await assert.rejects(client.models.retrieve('nonesuch'), (err) => {
      assert.ok(err instanceof OpenAI.NotFoundError);
      assert.equal(err.code, 'model_not_found');
      return true;
    });
  });

  it('answers a completion: text, finish reason, usage, the run id', async () => {
    const { data: c, response } = await ask('plain').withResponse();
    assert.equal(c.object, 'chat.completion');
    assert.match(c.id, /^chatcmpl-[0-9a-f]{32}$/);
    assert.equal(c.model, 'plain');
    assert.equal(c.choices[0].message.role, 'assistant');
    assert.equal(c.choices[0].message.content, answers.plain);
    assert.equal(c.choices[0].finish_reason, 'stop');
    assert.ok(c.usage.total_tokens > 0);
    assert.equal(c.usage.total_tokens, c.usage.prompt_tokens + c.usage.completion_tokens);
    const runId = response.headers.get('x-quorum-run-id');
    assert.match(runId, /^[0-9a-f]{32}$/);
    const report = await (await fetch(`${serve.url}/v1/runs/${runId}`)).json();
    assert.equal(report.run_id, runId);
    assert.equal(report.status, 'ok');
  });

  it('streams: the chunks make the answer, then usage', async () => {
    for (const model of ['drip', 'council']) {
      const whole = (await ask(model)).choices[0].message.content;
      const stream = await ask(model, { stream: true, stream_options: { include_usage: true } });
      let text = '';
      let pieces = 0;
      let usage = null;
      let finish = null;
      for await (const chunk of stream) {
        assert.equal(chunk.object, 'chat.completion.chunk');
        const c = chunk.choices[0];
        if (c?.delta?.content) {
          text += c.delta.content;
          pieces++;
        }
        if (c?.finish_reason) finish = c.finish_reason;
        if (chunk.usage) usage = chunk.usage;
      }
      assert.equal(text, whole);
      if (model === 'drip') assert.equal(text, answers.drip);
      assert.ok(pieces > 1, `${model}: ${pieces} piece(s)`);
      assert.equal(finish, 'stop');
      assert.ok(usage.total_tokens > 0);
    }
  });

  it('an unknown workflow is a NotFoundError', async () => {
    await assert.rejects(ask('nonesuch'), (err) => {
      assert.ok(err instanceof OpenAI.NotFoundError);
      assert.equal(err.status, 404);
      assert.equal(err.code, 'model_not_found');
      assert.equal(err.param, 'model');
      assert.match(err.message, /'plain'/);
      return true;
    });
  });

  it('every member failing is an APIError with status 502', async () => {
    await assert.rejects(ask('down'), (err) => {
      assert.ok(err instanceof OpenAI.APIError);
      assert.equal(err.status, 502);
      assert.equal(err.code, 'upstream_failed');
      return true;
    });
  });

  it('past --max-runs is a RateLimitError with Retry-After', async () => {
    const capped = await startServe(dir, ['--max-runs', '1', 'plain.yaml', 'slow.yaml']);
    try {
      const c = new OpenAI({ apiKey: 'unused', baseURL: `${capped.url}/v1`, maxRetries: 0, logLevel: 'off' });
      const messages = [{ role: 'user', content: 'Which city is the capital of Australia?' }];
      const first = c.chat.completions.create({ model: 'slow', messages });
      await new Promise((r) => setTimeout(r, 300));
      await assert.rejects(c.chat.completions.create({ model: 'plain', messages }), (err) => {
        assert.ok(err instanceof OpenAI.RateLimitError);
        assert.equal(err.status, 429);
        assert.equal(err.headers.get('retry-after'), '1');
        return true;
      });
      assert.equal((await first).choices[0].message.content, 'Slow but sure.');
    } finally {
      await capped.stop();
    }
  });

  it('a missing bearer token is an AuthenticationError', async () => {
    writeFileSync(path.join(dir, 'tokens.txt'), 'sdk-token-1\n');
    const guarded = await startServe(dir, ['--tokens', 'tokens.txt', 'plain.yaml']);
    try {
      const messages = [{ role: 'user', content: 'Hi' }];
      const bad = new OpenAI({ apiKey: 'wrong', baseURL: `${guarded.url}/v1`, maxRetries: 0, logLevel: 'off' });
      await assert.rejects(bad.chat.completions.create({ model: 'plain', messages }),
        (err) => err instanceof OpenAI.AuthenticationError && err.status === 401);
      const good = new OpenAI({ apiKey: 'sdk-token-1', baseURL: `${guarded.url}/v1`, maxRetries: 0, logLevel: 'off' });
      const r = await good.chat.completions.create({ model: 'plain', messages });
      assert.equal(r.choices[0].message.content, answers.plain);
    } finally {
      await guarded.stop();
    }
  });
});

describe('@anthropic-ai/sdk against quorum serve', () => {
  let mock;
  let dir;
  let serve;
  let client;

  before(async () => {
    mock = await startMock();
    dir = mkdtempSync(path.join(os.tmpdir(), 'quorum-serve-sdk-'));
    writeFileSync(path.join(dir, 'drip.yaml'), workflow(mock.url, 'drip'));
    writeFileSync(path.join(dir, 'council.yaml'), council(mock.url));
    serve = await startServe(dir, ['drip.yaml', 'council.yaml']);
    client = new Anthropic({ apiKey: 'unused', baseURL: serve.url, maxRetries: 0, logLevel: 'off' });
  });
  after(async () => {
    await serve?.stop();
    await mock?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const messages = [{ role: 'user', content: 'Which city is the capital of Australia?' }];

  it('answers a message', async () => {
    const m = await client.messages.create({ model: 'drip', max_tokens: 100, messages });
    assert.equal(m.type, 'message');
    assert.match(m.id, /^msg_[0-9a-f]{32}$/);
    assert.equal(m.role, 'assistant');
    assert.equal(m.content[0].type, 'text');
    assert.equal(m.content[0].text, answers.drip);
    assert.equal(m.stop_reason, 'end_turn');
    assert.ok(m.usage.output_tokens > 0);
  });

  it('streams: the text deltas make the answer', async () => {
    for (const model of ['drip', 'council']) {
      const whole = (await client.messages.create({ model, max_tokens: 100, messages }))
        .content[0].text;
      const stream = client.messages.stream({ model, max_tokens: 100, messages });
      let text = '';
      let deltas = 0;
      stream.on('text', (t) => {
        text += t;
        deltas++;
      });
      const final = await stream.finalMessage();
      assert.equal(text, whole);
      assert.equal(final.content[0].text, whole);
      assert.equal(final.stop_reason, 'end_turn');
      assert.ok(deltas > 1, `${model}: ${deltas} delta(s)`);
    }
  });

  it('an unknown workflow is a NotFoundError', async () => {
    await assert.rejects(client.messages.create({ model: 'nonesuch', max_tokens: 10, messages }),
      (err) => err instanceof Anthropic.NotFoundError && err.status === 404);
  });
});
