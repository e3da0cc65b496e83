#!/usr/bin/env bash
# The SDK fidelity check: installs the pinned official SDKs (openai,
# @anthropic-ai/sdk, @google/genai) from package-lock.json and drives
# quorum-mock with each of them, and `quorum serve` with the openai and
# Anthropic SDKs (node's built-in test runner).
#
#   tests/sdk/run.sh        # after the build; needs Node >= 20 and npm
#
# QUORUM_MOCK_BIN names the quorum-mock binary (default:
# build/sim/quorum-mock at the top of the checkout), QUORUM_BIN the quorum
# binary that serve.test.js runs as `quorum serve` (default: build/quorum).
# Exits non-zero when a test fails.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "tests/sdk: node and npm are needed (Node >= 20)" >&2
	exit 2
fi
echo "tests/sdk: node $(node --version), npm $(npm --version)" >&2
# No install scripts: nothing from the registry runs but the tests.
npm ci --no-audit --no-fund --ignore-scripts >&2
exec node --test --test-reporter=spec
