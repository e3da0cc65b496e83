// The official `@google/genai` SDK against quorum-mock's Gemini API.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { ApiError, BlockedReason, FinishReason, GoogleGenAI } from '@google/genai';

import { answers, promptTokens, startMock, tokens } from './mock.js';

const SYSTEM = 'Answer in one sentence.';
const USER = 'Which city is the capital of Australia?';

describe('@google/genai', () => {
  let mock;
  let ai;

  before(async () => {
    mock = await startMock();
    ai = new GoogleGenAI({
      apiKey: 'AIza-mock-secret',
      // One attempt: the SDK's own retries stay out of the way.
      httpOptions: { baseUrl: mock.url, retryOptions: { attempts: 1 } },
    });
  });
  after(() => mock?.stop());

  const params = (model) => ({
    model,
    contents: USER,
    config: { systemInstruction: SYSTEM, maxOutputTokens: 300, temperature: 0.2 },
  });

  const expectedUsage = (text) => ({
    promptTokenCount: promptTokens(SYSTEM, USER),
    candidatesTokenCount: tokens(text),
    totalTokenCount: promptTokens(SYSTEM, USER) + tokens(text),
  });

  it('parses a response: text, finish reason, usage', async () => {
    const r = await ai.models.generateContent(params('plain'));
    assert.equal(r.text, answers.plain);
    assert.equal(r.candidates.length, 1);
    assert.equal(r.candidates[0].content.role, 'model');
    assert.equal(r.candidates[0].finishReason, FinishReason.STOP);
    assert.deepEqual(r.usageMetadata, expectedUsage(answers.plain));
    assert.equal(r.modelVersion, 'plain');
    assert.ok(r.responseId);

    const [logged] = await mock.requests('plain');
    assert.equal(logged.format, 'gemini');
    assert.equal(logged.auth_header, 'x-goog-api-key');
    assert.equal(logged.max_tokens, 300);
    assert.equal(logged.temperature, 0.2);
    assert.ok(!JSON.stringify(logged).includes('AIza-mock-secret'));
    assert.deepEqual(logged.messages, [
      { role: 'system', content: SYSTEM },
      { role: 'user', content: USER },
    ]);
  });

  it('parses a stream: pieces, the last with finish reason and usage', async () => {
    const stream = await ai.models.generateContentStream(params('unicode'));
    let text = '';
    let last = null;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.text ?? '';
      last = chunk;
    }
    assert.ok(chunks > 5, 'the answer came in pieces');
    assert.equal(text, answers.unicode);
    assert.equal(last.candidates[0].finishReason, FinishReason.STOP);
    assert.deepEqual(last.usageMetadata, expectedUsage(answers.unicode));
    const logged = await mock.requests('unicode');
    assert.equal(logged.at(-1).stream, true);
  });

  it('carries a conversation through the chat helper', async () => {
    const chat = ai.chats.create({
      model: 'drip',
      history: [
        { role: 'user', parts: [{ text: 'Hello.' }] },
        { role: 'model', parts: [{ text: 'Hi.' }] },
      ],
    });
    const first = await chat.sendMessage({ message: USER });
    assert.equal(first.text, answers.drip);
    let text = '';
    for await (const chunk of await chat.sendMessageStream({ message: 'Again?' })) {
      text += chunk.text ?? '';
    }
    assert.equal(text, answers.drip);
    const logged = await mock.requests('drip');
    assert.deepEqual(
      logged.at(-1).messages.map((m) => m.role),
      ['user', 'model', 'user', 'model', 'user'],
    );
  });

  it('answers a bank question found only in the system instruction', async () => {
    const r = await ai.models.generateContent({
      model: 'banked',
      contents: [{ role: 'user', parts: [{ text: 'Go on.' }] }],
      config: { systemInstruction: 'The question: What is the capital of Australia?' },
    });
    assert.match(r.text, /\n\nAnswer: Canberra$/);
  });

  it('leaves usageMetadata out when the model reports none', async () => {
    const r = await ai.models.generateContent(params('quiet'));
    assert.equal(r.text, 'No usage from me.');
    assert.equal(r.usageMetadata, undefined);
  });

  it('reports a safety block on the answer as finishReason SAFETY', async () => {
    const r = await ai.models.generateContent(params('filtered'));
    assert.equal(r.candidates[0].finishReason, FinishReason.SAFETY);
    assert.equal(r.text, undefined);
    assert.ok(r.candidates[0].safetyRatings.some((s) => s.blocked));
    const chunks = [];
    for await (const chunk of await ai.models.generateContentStream(params('filtered'))) {
      chunks.push(chunk);
    }
    assert.equal(chunks.length, 1);
    assert.equal(chunks[0].candidates[0].finishReason, FinishReason.SAFETY);
  });

  it('reports a blocked prompt as promptFeedback.blockReason', async () => {
    const r = await ai.models.generateContent(params('blocked'));
    assert.equal(r.candidates, undefined);
    assert.equal(r.promptFeedback.blockReason, BlockedReason.SAFETY);
    assert.equal(r.text, undefined);
    const chunks = [];
    for await (const chunk of await ai.models.generateContentStream(params('blocked'))) {
      chunks.push(chunk);
    }
    assert.equal(chunks.length, 1);
    assert.equal(chunks[0].promptFeedback.blockReason, BlockedReason.SAFETY);
  });

  it('surfaces 429 as ApiError with the status', async () => {
    await assert.rejects(ai.models.generateContent(params('rate-limited')), (err) => {
      assert.ok(err instanceof ApiError);
      assert.equal(err.status, 429);
      assert.match(err.message, /RESOURCE_EXHAUSTED/);
      return true;
    });
    assert.equal((await mock.requests('rate-limited')).length, 1, 'no SDK retry');
    await assert.rejects(ai.models.generateContentStream(params('unavailable')), (err) => {
      assert.ok(err instanceof ApiError);
      assert.equal(err.status, 503);
      assert.match(err.message, /UNAVAILABLE/);
      return true;
    });
  });

  it('retries a 429 by itself when allowed, and then parses the answer', async () => {
    const retrying = new GoogleGenAI({
      apiKey: 'k',
      httpOptions: { baseUrl: mock.url, retryOptions: { attempts: 2, initialDelay: 0.05 } },
    });
    const r = await retrying.models.generateContent({ model: 'recovering', contents: USER });
    assert.equal(r.text, answers.recovering);
    assert.deepEqual((await mock.requests('recovering')).map((l) => l.status), [429, 200]);
  });

  it('surfaces an unknown model as ApiError 404', async () => {
    await assert.rejects(ai.models.generateContent(params('no-such-model')), (err) => {
      assert.ok(err instanceof ApiError);
      assert.equal(err.status, 404);
      assert.match(err.message, /NOT_FOUND/);
      assert.match(err.message, /models\/no-such-model/);
      return true;
    });
  });

  it('surfaces an error event in the middle of a stream', async () => {
    let text = '';
    await assert.rejects(
      (async () => {
        for await (const chunk of await ai.models.generateContentStream(params('midfail'))) {
          text += chunk.text ?? '';
        }
      })(),
      (err) => {
        assert.ok(err instanceof ApiError);
        assert.equal(err.status, 500);
        return true;
      },
    );
    assert.equal(text, answers.midfail.slice(0, 8));
  });

  it('fails on a body that is not JSON', async () => {
    await assert.rejects(ai.models.generateContent(params('garbled')));
    await assert.rejects(async () => {
      for await (const chunk of await ai.models.generateContentStream(params('garbled'))) {
        void chunk;
      }
    });
  });
});
