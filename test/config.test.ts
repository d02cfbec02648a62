import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { configurationDoc, readmeWithTable } from '../scripts/config-docs.js';

describe('configuration', () => {
  it('runs on the embedded default with no variables set', () => {
    const config = loadConfig({});
    expect(config.embedded).toBe(true);
    expect(config.PORT).toBe(3000);
    expect(config.publicUrl).toBe('http://localhost:3000');
    expect(config.ACCESS_TOKEN_TTL).toBe(900);
  });

  it('stops on a bad value with one sentence naming the variable', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/^PORT is invalid .*got "eighty"/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL is invalid/);
    expect(() => loadConfig({ LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL/);
    expect(() => loadConfig({ BAZAAR_ADMIN_PASSWORD: 'short' })).toThrow(/BAZAAR_ADMIN_PASSWORD/);
  });

  it('reads *_FILE variables for secrets', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bazaar-config-'));
    const file = path.join(dir, 'secret');
    writeFileSync(file, 'a-very-long-key-encryption-secret-value\n');
    expect(loadConfig({ KEY_ENCRYPTION_KEY_FILE: file }).KEY_ENCRYPTION_KEY).toBe(
      'a-very-long-key-encryption-secret-value',
    );
    expect(() => loadConfig({ KEY_ENCRYPTION_KEY_FILE: path.join(dir, 'missing') })).toThrow(
      /KEY_ENCRYPTION_KEY_FILE/,
    );
  });

  it('keeps docs/configuration.md and the README table in step with src/config.ts', () => {
    expect(readFileSync('docs/configuration.md', 'utf8')).toBe(configurationDoc());
    const readme = readFileSync('README.md', 'utf8');
    expect(readme).toBe(readmeWithTable(readme));
  });
});
