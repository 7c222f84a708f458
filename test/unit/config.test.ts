/** Config loading: `${VAR}` substitution, validation messages that name the key path, and boot failures. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { substituteEnv } from '../../src/config/env-substitute.ts';
import { parseConfig } from '../../src/config/load.ts';
import { loadProviders } from '../../src/plugins/loader.ts';
import { createLogger } from '../../src/logging.ts';
import { ROOT } from '../helpers/gateway.ts';

describe('config', () => {
  describe('${VAR} substitution', () => {
    const env = { SET: 'value', EMPTY: '', PORT: '9000' };

    it('replaces set variables and falls back to defaults for unset or empty ones', () => {
      assert.equal(substituteEnv('${SET}', env), 'value');
      assert.equal(substituteEnv('${MISSING:-fallback}', env), 'fallback');
      assert.equal(substituteEnv('${EMPTY:-fallback}', env), 'fallback');
      assert.equal(substituteEnv('${MISSING}', env), '');
      assert.equal(substituteEnv('http://h:${PORT:-1}/v1', env), 'http://h:9000/v1');
    });

    it('resolves nested defaults', () => {
      assert.equal(substituteEnv('${HUG_API_KEY:-${HF_TOKEN:-}}', { HF_TOKEN: 'hf_abc' }), 'hf_abc');
      assert.equal(substituteEnv('${A:-${B:-${C:-deep}}}', {}), 'deep');
      assert.equal(substituteEnv('${A:-${B:-x}}', { A: 'a' }), 'a');
    });

    it('refuses an unterminated expression', () => {
      assert.throws(() => substituteEnv('${OOPS', {}), /unterminated/);
    });
  });

  describe('validation', () => {
    const file = path.join(ROOT, 'config', 'x.yaml');

    it('fills every default and resolves relative paths against the config folder', () => {
      const config = parseConfig('providers: {}\n', file, {});
      assert.equal(config.server.port, 8000);
      assert.equal(config.rate_limit.store, 'memory');
      assert.equal(config.database.connection, path.join(ROOT, 'config', 'data', 'switchyard.sqlite'));
      assert.equal(config.plugins_dir, path.join(ROOT, 'config', 'plugins'));
    });

    it('coerces substituted numbers and booleans', () => {
      const config = parseConfig('server:\n  port: ${PORT:-8100}\n  trust_proxy: ${TRUST:-false}\n', file, { PORT: '8200' });
      assert.equal(config.server.port, 8200);
      assert.equal(config.server.trust_proxy, false);
    });

    const bad: [string, RegExp][] = [
      ['server:\n  port: lots\n', /SY_CONFIG_INVALID: server\.port: /],
      ['server:\n  prot: 80\n', /SY_CONFIG_INVALID: server\.prot: unknown key/],
      ['database:\n  client: mysql\n', /SY_CONFIG_INVALID: database\.client: /],
      ['rate_limit:\n  store: disk\n', /SY_CONFIG_INVALID: rate_limit\.store: /],
      ['pricing:\n  "x/*": { input: -1, output: 1 }\n', /SY_CONFIG_INVALID: pricing\.x\/\*\.input: /],
      ['providers:\n  hf:\n    models: ["*"]\n', /SY_CONFIG_INVALID: providers\.hf\.plugin: /],
      ['server:\n  request_timeout_ms: thirty\n', /^ConfigError: SY_CONFIG_INVALID: server\.request_timeout_ms: must be a whole number, got 'thirty'$/],
      ['server:\n  port: 80.5\n', /^ConfigError: SY_CONFIG_INVALID: server\.port: must be a whole number, got 80\.5$/],
      ['server:\n  trust_proxy: maybe\n', /^ConfigError: SY_CONFIG_INVALID: server\.trust_proxy: must be true or false, got 'maybe'$/],
      [
        'pricing:\n  default: { input: 0.5, ouput: 1.5 }\n',
        /^ConfigError: SY_CONFIG_INVALID: pricing\.default\.ouput: unknown key \(did you mean 'output'\?\)$/,
      ],
      [
        'pricing:\n  default: { input: cheap, output: 1 }\n',
        /^ConfigError: SY_CONFIG_INVALID: pricing\.default\.input: must be a number \(USD per million tokens\), got 'cheap'$/,
      ],
      ['providers:\n  hf:\n    pluign: huggingface\n', /^ConfigError: SY_CONFIG_INVALID: providers\.hf\.pluign: unknown key \(did you mean 'plugin'\?\)$/],
      [
        'metering:\n  flush_intervall_ms: 5\n',
        /^ConfigError: SY_CONFIG_INVALID: metering\.flush_intervall_ms: unknown key \(did you mean 'flush_interval_ms'\?\)$/,
      ],
      ['server: [1, 2\n', /SY_CONFIG_YAML: not valid YAML at line 2, column 1/],
      ['- just\n- a list\n', /SY_CONFIG_INVALID: the file must be a YAML mapping/],
    ];
    it('shows a YAML syntax error with its line and a caret under the column', () => {
      const text = 'server:\n  port: 80\n  host: "0.0.0.0\nproviders: {}\n';
      const error = (() => {
        try {
          parseConfig('server:\n  port: 8000\n   host: x\n', file, {});
        } catch (caught) {
          return caught as Error;
        }
        return assert.fail('the YAML was accepted');
      })();
      assert.equal(error.message.split('\n')[0], 'SY_CONFIG_YAML: not valid YAML at line 2, column 9: Nested mappings are not allowed in compact mappings');
      assert.deepEqual(error.message.split('\n').slice(1), ['  2 |   port: 8000', '              ^']);
      assert.throws(() => parseConfig(text, file, {}), /SY_CONFIG_YAML: not valid YAML at line \d+, column \d+: /);
    });

    for (const [text, message] of bad) {
      it(`refuses ${JSON.stringify(text.trim())} naming the key path`, () => {
        assert.throws(() => parseConfig(text, file, {}), message);
      });
    }
  });

  describe('plugins', () => {
    let dir: string;
    const logger = createLogger({ level: 'silent' });

    before(() => {
      dir = mkdtempSync(path.join(tmpdir(), 'switchyard-plugins-'));
      mkdirSync(path.join(dir, 'misnamed'));
      writeFileSync(
        path.join(dir, 'misnamed', 'index.js'),
        'export default { name: "other", version: "1.0.0", configSchema: { safeParse() {} }, create() {} };\n',
      );
      mkdirSync(path.join(dir, 'nocreate'));
      writeFileSync(path.join(dir, 'nocreate', 'index.js'), 'export default { name: "nocreate", version: "1.0.0", configSchema: { safeParse() {} } };\n');
      mkdirSync(path.join(dir, 'throws'));
      writeFileSync(path.join(dir, 'throws', 'index.js'), 'throw new Error("boom at import");\n');
    });

    after(() => rmSync(dir, { recursive: true, force: true }));

    const load = (providers: string, pluginsDir = dir) =>
      loadProviders(parseConfig(`plugins_dir: ${pluginsDir}\nproviders:\n${providers}`, path.join(dir, 'c.yaml'), {}), logger);

    it('stops on a missing plugin with SY_PLUGIN_NOT_FOUND', async () => {
      await assert.rejects(load('  a:\n    plugin: nothing\n'), /SY_PLUGIN_NOT_FOUND: providers\.a\.plugin: plugin 'nothing' not found/);
    });

    it('stops on a malformed plugin with SY_PLUGIN_INVALID', async () => {
      await assert.rejects(load('  a:\n    plugin: misnamed\n'), /SY_PLUGIN_INVALID: providers\.a\.plugin: .*expected 'misnamed'/);
      await assert.rejects(load('  a:\n    plugin: nocreate\n'), /SY_PLUGIN_INVALID: .*create\(setup\) must be a function/);
    });

    it('stops on a plugin that throws while loading with SY_PLUGIN_LOAD_FAILED', async () => {
      await assert.rejects(load('  a:\n    plugin: throws\n'), /SY_PLUGIN_LOAD_FAILED: .*boom at import/);
    });

    it("validates an entry's block with the plugin's own schema", async () => {
      const plugins = path.join(ROOT, 'plugins');
      await assert.rejects(
        load('  hf:\n    plugin: huggingface\n    base_ur: http://x\n', plugins),
        /SY_CONFIG_INVALID: providers\.hf\.base_ur: unknown key \(did you mean 'base_url'\?\)/,
      );
      // A typo of a key the core reads is matched against those too, not only the plugin's.
      await assert.rejects(
        load('  hf:\n    plugin: huggingface\n    timeout_m: 5\n', plugins),
        /providers\.hf\.timeout_m: unknown key \(did you mean 'timeout_ms'\?\)/,
      );
      // openai-compatible requires base_url: the typo is named, not the key it stands for.
      await assert.rejects(
        load('  local:\n    plugin: openai-compatible\n    baseurl: http://x\n', plugins),
        /^ConfigError: SY_CONFIG_INVALID: providers\.local\.baseurl: unknown key \(did you mean 'base_url'\?\)$/m,
      );
      await assert.rejects(
        load('  local:\n    plugin: openai-compatible\n    base_url: http://x\n    supports: { respones: true }\n', plugins),
        /SY_CONFIG_INVALID: providers\.local\.supports\.respones: unknown key \(did you mean 'responses'\?\)/,
      );
      await assert.rejects(load('  hf:\n    plugin: huggingface\n    base_url: not a url\n', plugins), /SY_CONFIG_INVALID: providers\.hf\.base_url: /);
    });

    it('lets two entries share one plugin', async () => {
      const plugins = path.join(ROOT, 'plugins');
      const loaded = await load('  one:\n    plugin: openai\n  two:\n    plugin: openai\n    base_url: http://127.0.0.1:1/v1\n', plugins);
      assert.deepEqual(
        loaded.map((entry) => entry.name),
        ['one', 'two'],
      );
      assert.notEqual(loaded[0].provider, loaded[1].provider);
      await Promise.all(loaded.map((entry) => entry.provider.close?.()));
    });
  });

  describe('start-up with a bad file', function () {
    // Each test starts a real process: generous on a loaded machine.
    this.timeout(60_000);
    let dir: string;
    before(() => (dir = mkdtempSync(path.join(tmpdir(), 'switchyard-config-'))));
    after(() => rmSync(dir, { recursive: true, force: true }));

    function serve(yaml: string) {
      const file = path.join(dir, 'gateway.yaml');
      writeFileSync(file, yaml);
      return spawnSync(process.execPath, [path.join(ROOT, 'bin/switchyard.mjs'), 'serve', '--config', file], {
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...process.env, LOG_LEVEL: 'silent' },
      });
    }

    it('exits non-zero with a message naming the key path', () => {
      const result = serve('server:\n  port: 99999\n');
      assert.notEqual(result.status, 0);
      assert.match(result.stderr, /SY_CONFIG_INVALID: server\.port: /);
    });

    it('exits non-zero when a plugin is missing', () => {
      const result = serve(`plugins_dir: ${path.join(ROOT, 'plugins')}\nproviders:\n  x:\n    plugin: nowhere\n`);
      assert.notEqual(result.status, 0);
      assert.match(result.stderr, /SY_PLUGIN_NOT_FOUND: providers\.x\.plugin/);
    });

    it('exits non-zero when the file does not exist', () => {
      const result = spawnSync(process.execPath, [path.join(ROOT, 'bin/switchyard.mjs'), 'serve', '--config', path.join(dir, 'none.yaml')], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.notEqual(result.status, 0);
      assert.match(result.stderr, /SY_CONFIG_UNREADABLE: .*ENOENT/);
    });
  });
});
