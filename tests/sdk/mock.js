// Starts quorum-mock on a free port with scenario.yaml and holds the rules
// the mock counts tokens by, so each test can say what usage to expect.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

export const mockBin =
  process.env.QUORUM_MOCK_BIN ?? path.resolve(here, '../../build/sim/quorum-mock');

// The mock's estimate: a quarter of the UTF-8 bytes, rounded up.
export const tokens = (s) => Math.ceil(Buffer.byteLength(s, 'utf8') / 4);

// A prompt costs every message's tokens plus 4 (a system prompt is a
// message, wherever the format puts it).
export const promptTokens = (...messages) =>
  messages.reduce((n, m) => n + tokens(m) + 4, 0);

// The scenario's fixed answers, as scenario.yaml writes them.
export const answers = {
  plain: 'Canberra is the capital of Australia, not Sydney.',
  unicode: 'Naïve café — ☃ snow, 雪, and a party: 🎉. Done.',
  drip: 'Slowly, piece by piece, the answer arrives.',
  midfail: '0123456789abcdefghijklmnop',
  recovering: 'Back on my feet.',
};

// Starts the mock; resolves to { url, requests(model), stop() }.
export async function startMock() {
  if (!existsSync(mockBin)) {
    throw new Error(`quorum-mock not found at ${mockBin}: build first or set QUORUM_MOCK_BIN`);
  }
  const child = spawn(mockBin, ['--scenario', path.join(here, 'scenario.yaml'), '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const port = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`quorum-mock exited with ${code}: ${stderr}`)));
    child.on('error', reject);
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    // The mock's log of the requests to `model`, oldest first.
    async requests(model) {
      const res = await fetch(`${url}/_mock/requests?model=${encodeURIComponent(model)}`);
      return res.json();
    },
    // Stops the mock; throws when it did not exit cleanly (a sanitizer
    // build reports there).
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
      if (child.exitCode !== 0) {
        throw new Error(`quorum-mock exited with ${child.exitCode ?? child.signalCode}: ${stderr}`);
      }
    },
  };
}
