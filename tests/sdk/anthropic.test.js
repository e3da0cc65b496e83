// The official `@anthropic-ai/sdk` against quorum-mock's Messages API.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import Anthropic from '@anthropic-ai/sdk';

import { answers, promptTokens, startMock, tokens } from './mock.js';

const SYSTEM = 'Answer in one sentence.';
const USER = 'Which city is the capital of Australia?';

describe('@anthropic-ai/sdk', () => {
  let mock;
  let client;

  before(async () => {
    mock = await startMock();
    client = new Anthropic({
      apiKey: 'sk-ant-mock-secret',
      baseURL: mock.url,
      maxRetries: 0,
      logLevel: 'off',
    });
  });
  after(() => mock?.stop());

  const params = (model, extra = {}) => ({
    model,
    max_tokens: 256,
    system: SYSTEM,
    messages: [{ role: 'user', content: USER }],
    ...extra,
  });

  it('parses a message: text block, stop reason, usage', async () => {
    const m = await client.messages.create(params('plain'));
    assert.equal(m.type, 'message');
    assert.equal(m.role, 'assistant');
    assert.equal(m.model, 'plain');
    assert.match(m.id, /^msg_/);
    assert.equal(m.content.length, 1);
    assert.equal(m.content[0].type, 'text');
    assert.equal(m.content[0].text, answers.plain);
    assert.equal(m.stop_reason, 'end_turn');
    assert.equal(m.stop_sequence, null);
    assert.equal(m.usage.input_tokens, promptTokens(SYSTEM, USER));
    assert.equal(m.usage.output_tokens, tokens(answers.plain));

    const [logged] = await mock.requests('plain');
    assert.equal(logged.format, 'anthropic');
    // This SDK sends its key as `Authorization: Bearer`; the API takes
    // that or x-api-key, and so does the mock.
    assert.equal(logged.auth, true);
    assert.ok(['x-api-key', 'authorization'].includes(logged.auth_header));
    assert.match(logged.anthropic_version, /^\d{4}-\d{2}-\d{2}$/);
    assert.equal(logged.max_tokens, 256);
    assert.ok(!JSON.stringify(logged).includes('sk-ant-mock-secret'));
    assert.deepEqual(logged.messages, [
      { role: 'system', content: SYSTEM },
      { role: 'user', content: USER },
    ]);
  });

  it('parses the raw event stream in order', async () => {
    const stream = await client.messages.create(params('unicode', { stream: true }));
    const types = [];
    let text = '';
    let input = null;
    let output = null;
    let stop = null;
    for await (const ev of stream) {
      types.push(ev.type);
      if (ev.type === 'message_start') input = ev.message.usage.input_tokens;
      if (ev.type === 'content_block_delta') {
        assert.equal(ev.delta.type, 'text_delta');
        text += ev.delta.text;
      }
      if (ev.type === 'message_delta') {
        stop = ev.delta.stop_reason;
        output = ev.usage.output_tokens;
      }
    }
    const deltas = types.filter((t) => t === 'content_block_delta').length;
    assert.ok(deltas > 5, 'the answer came in pieces');
    assert.deepEqual(types, [
      'message_start',
      'content_block_start',
      ...Array(deltas).fill('content_block_delta'),
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    assert.equal(text, answers.unicode);
    assert.equal(stop, 'end_turn');
    assert.equal(input, promptTokens(SYSTEM, USER));
    assert.equal(output, tokens(answers.unicode));
  });

  it('accumulates a stream with the SDK helper', async () => {
    const stream = client.messages.stream(params('drip'));
    let seen = '';
    stream.on('text', (t) => (seen += t));
    const m = await stream.finalMessage();
    assert.equal(seen, answers.drip);
    assert.equal(m.content[0].text, answers.drip);
    assert.equal(m.stop_reason, 'end_turn');
    assert.equal(m.usage.input_tokens, promptTokens(SYSTEM, USER));
    assert.equal(m.usage.output_tokens, tokens(answers.drip));
  });

  it('answers a bank question found only in the system prompt', async () => {
    const m = await client.messages.create({
      model: 'banked',
      max_tokens: 64,
      system: [{ type: 'text', text: 'The question: What is the capital of Australia?' }],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Go on.' }] }],
    });
    assert.match(m.content[0].text, /\n\nAnswer: Canberra$/);
  });

  it('reports a content filter as stop_reason refusal', async () => {
    const m = await client.messages.create(params('filtered'));
    assert.equal(m.stop_reason, 'refusal');
    assert.equal(m.stop_details.type, 'refusal');
    assert.deepEqual(m.content, []);
    const final = await client.messages.stream(params('filtered')).finalMessage();
    assert.equal(final.stop_reason, 'refusal');
    assert.deepEqual(final.content, []);
  });

  it('surfaces 429 as RateLimitError with retry-after', async () => {
    await assert.rejects(client.messages.create(params('rate-limited')), (err) => {
      assert.ok(err instanceof Anthropic.RateLimitError);
      assert.equal(err.status, 429);
      assert.equal(err.headers.get('retry-after'), '7');
      assert.equal(err.error.type, 'error');
      assert.equal(err.error.error.type, 'rate_limit_error');
      return true;
    });
    assert.equal((await mock.requests('rate-limited')).length, 1, 'no SDK retry');
  });

  it('retries a 429 by itself when allowed, and then parses the answer', async () => {
    const retrying = new Anthropic({ apiKey: 'k', baseURL: mock.url, maxRetries: 1 });
    const m = await retrying.messages.create(params('recovering'));
    assert.equal(m.content[0].text, answers.recovering);
    assert.deepEqual((await mock.requests('recovering')).map((r) => r.status), [429, 200]);
  });

  it('surfaces 529 as the overloaded error', async () => {
    await assert.rejects(client.messages.create(params('overloaded', { stream: true })), (err) => {
      assert.ok(err instanceof Anthropic.InternalServerError);
      assert.equal(err.status, 529);
      assert.equal(err.error.error.type, 'overloaded_error');
      return true;
    });
  });

  it('surfaces an unknown model as NotFoundError', async () => {
    await assert.rejects(client.messages.create(params('no-such-model')), (err) => {
      assert.ok(err instanceof Anthropic.NotFoundError);
      assert.equal(err.status, 404);
      assert.equal(err.error.error.type, 'not_found_error');
      assert.match(err.message, /no-such-model/);
      return true;
    });
  });

  it('surfaces an error event in the middle of a stream', async () => {
    const stream = client.messages.stream(params('midfail'));
    let text = '';
    stream.on('text', (t) => (text += t));
    await assert.rejects(stream.finalMessage(), (err) => {
      assert.ok(err instanceof Anthropic.APIError);
      assert.equal(err.error.error.type, 'api_error');
      return true;
    });
    assert.equal(text, answers.midfail.slice(0, 8));
  });

  it('fails on a body that is not JSON', async () => {
    await assert.rejects(client.messages.create(params('garbled')));
    await assert.rejects(client.messages.stream(params('garbled')).finalMessage());
  });
});
