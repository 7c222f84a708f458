/** Runs last: no gateway key, provider key or message text reached any log line this suite wrote. */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { CANARY, HF_KEY, OPENAI_KEY } from './helpers/gateway.ts';
import { ANTHROPIC_KEY } from './helpers/mock-anthropic.ts';

const logDir = process.env.SWITCHYARD_TEST_LOG_DIR;

describe('log scan (after the suite)', () => {
  it('finds no secret and no message text in the logs', function () {
    if (!logDir || !existsSync(logDir)) this.skip();
    const files = readdirSync(logDir).filter((file) => file.endsWith('.log'));
    assert.ok(files.length > 0, 'the suite wrote logs');
    let lines = 0;
    for (const file of files) {
      const text: string = readFileSync(path.join(logDir!, file), 'utf8');
      lines += text.split('\n').length;
      assert.equal(text.includes(HF_KEY), false, `${file}: HF provider key`);
      assert.equal(text.includes(OPENAI_KEY), false, `${file}: OpenAI provider key`);
      assert.equal(text.includes(ANTHROPIC_KEY), false, `${file}: Anthropic provider key`);
      assert.doesNotMatch(text, /sk-sy-[0-9A-Za-z]{20,}/, `${file}: a gateway key`);
      assert.equal(text.includes(CANARY), false, `${file}: marked prompt text`);
      assert.doesNotMatch(text, /Hello from the mock upstream|"content"/, `${file}: answer text`);
    }
    console.log(`      scanned ${lines} log lines in ${files.length} file(s)`);
  });
});
