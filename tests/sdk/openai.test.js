// The official `openai` SDK against quorum-mock's chat completions.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import OpenAI from 'openai';

import { answers, promptTokens, startMock, tokens } from './mock.js';

const SYSTEM = 'Answer in one sentence.';
const USER = 'Which city is the capital of Australia?';

describe('openai SDK', () => {
  let mock;
  let client;

  before(async () => {
    mock = await startMock();
    client = new OpenAI({ apiKey: 'sk-mock-secret', baseURL: `${mock.url}/v1`, maxRetries: 0, logLevel: 'off' });
  });
  after(() => mock?.stop());

  const ask = (model, extra = {}) =>
    client.chat.completions.create({
      model,
      messages: [
        { role: 'system', content: SYSTEM },
        { role: 'user', content: USER },
      ],
      ...extra,
    });

  const expectedUsage = (text) => ({
    prompt_tokens: promptTokens(SYSTEM, USER),
    completion_tokens: tokens(text),
    total_tokens: promptTokens(SYSTEM, USER) + tokens(text),
  });

  it('parses a completion: text, finish reason, usage', async () => {
    const c = await ask('plain');
    assert.equal(c.object, 'chat.completion');
    assert.equal(c.model, 'plain');
    assert.equal(c.choices.length, 1);
    assert.equal(c.choices[0].message.role, 'assistant');
    assert.equal(c.choices[0].message.content, answers.plain);
    assert.equal(c.choices[0].finish_reason, 'stop');
    assert.deepEqual(c.usage, expectedUsage(answers.plain));

    const [logged] = await mock.requests('plain');
    assert.equal(logged.format, 'openai');
    assert.equal(logged.auth_header, 'authorization');
    assert.ok(!JSON.stringify(logged).includes('sk-mock-secret'));
    assert.deepEqual(logged.messages, [
      { role: 'system', content: SYSTEM },
      { role: 'user', content: USER },
    ]);
  });

  it('parses a stream: deltas, finish reason, the usage chunk', async () => {
    const stream = await ask('unicode', { stream: true, stream_options: { include_usage: true } });
    let text = '';
    let finish = null;
    let usage = null;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      assert.equal(chunk.object, 'chat.completion.chunk');
      if (chunk.choices.length === 0) {
        usage = chunk.usage;
        continue;
      }
      text += chunk.choices[0].delta.content ?? '';
      finish = chunk.choices[0].finish_reason ?? finish;
    }
    assert.ok(chunks > 5, 'the answer came in pieces');
    assert.equal(text, answers.unicode);
    assert.equal(finish, 'stop');
    assert.deepEqual(usage, expectedUsage(answers.unicode));
  });

  it('accumulates a stream with the SDK helper', async () => {
    const stream = client.chat.completions.stream({
      model: 'drip',
      messages: [
        { role: 'system', content: SYSTEM },
        { role: 'user', content: USER },
      ],
      stream_options: { include_usage: true },
    });
    const c = await stream.finalChatCompletion();
    assert.equal(c.choices[0].message.content, answers.drip);
    assert.equal(c.choices[0].finish_reason, 'stop');
    assert.deepEqual(c.usage, expectedUsage(answers.drip));
  });

  it('leaves usage out when the model reports none', async () => {
    const c = await ask('quiet');
    assert.equal(c.usage, undefined);
    const stream = await ask('quiet', { stream: true, stream_options: { include_usage: true } });
    for await (const chunk of stream) assert.ok(!chunk.usage);
  });

  it('answers a bank question found in the user message', async () => {
    const c = await client.chat.completions.create({
      model: 'banked',
      messages: [{ role: 'user', content: 'Quick one: what is the capital of Australia?' }],
    });
    assert.match(c.choices[0].message.content, /\n\nAnswer: Canberra$/);
  });

  it('reports a content filter as finish_reason content_filter', async () => {
    const c = await ask('filtered');
    assert.equal(c.choices[0].finish_reason, 'content_filter');
    assert.equal(c.choices[0].message.content, null);
    const stream = await ask('filtered', { stream: true });
    let finish = null;
    for await (const chunk of stream) finish = chunk.choices[0]?.finish_reason ?? finish;
    assert.equal(finish, 'content_filter');
    const final = await client.chat.completions
      .stream({ model: 'filtered', messages: [{ role: 'user', content: USER }] })
      .finalChatCompletion();
    assert.equal(final.choices[0].finish_reason, 'content_filter');
  });

  it('surfaces 429 as RateLimitError with Retry-After', async () => {
    await assert.rejects(ask('rate-limited'), (err) => {
      assert.ok(err instanceof OpenAI.RateLimitError);
      assert.equal(err.status, 429);
      assert.equal(err.headers.get('retry-after'), '7');
      assert.equal(err.code, 'rate_limit_exceeded');
      return true;
    });
    assert.equal((await mock.requests('rate-limited')).length, 1, 'no SDK retry');
  });

  it('retries a 429 by itself when allowed, and then parses the answer', async () => {
    const retrying = new OpenAI({ apiKey: 'k', baseURL: `${mock.url}/v1`, maxRetries: 1 });
    const c = await retrying.chat.completions.create({
      model: 'recovering',
      messages: [{ role: 'user', content: USER }],
    });
    assert.equal(c.choices[0].message.content, answers.recovering);
    assert.deepEqual((await mock.requests('recovering')).map((r) => r.status), [429, 200]);
  });

  it('surfaces 503 as InternalServerError and an unknown model as NotFoundError', async () => {
    await assert.rejects(ask('unavailable', { stream: true }), (err) => {
      assert.ok(err instanceof OpenAI.InternalServerError);
      assert.equal(err.status, 503);
      return true;
    });
    await assert.rejects(ask('no-such-model'), (err) => {
      assert.ok(err instanceof OpenAI.NotFoundError);
      assert.equal(err.status, 404);
      assert.equal(err.code, 'model_not_found');
      assert.match(err.message, /no-such-model/);
      return true;
    });
  });

  it('surfaces an error event in the middle of a stream', async () => {
    const stream = await ask('midfail', { stream: true });
    let text = '';
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      })(),
      (err) => {
        assert.ok(err instanceof OpenAI.APIError);
        assert.equal(err.type, 'server_error');
        return true;
      },
    );
    assert.equal(text, answers.midfail.slice(0, 8));
  });

  it('fails on a body that is not JSON', async () => {
    await assert.rejects(ask('garbled'));
    const stream = await ask('garbled', { stream: true });
    await assert.rejects(async () => {
      for await (const chunk of stream) void chunk;
    });
  });
});
