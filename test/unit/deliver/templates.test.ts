import { readdirSync } from 'node:fs';
import {
  TEMPLATES,
  TEMPLATE_IDS,
  renderTemplate,
  templatePlaceholders,
  templateSource,
} from '../../../src/deliver/templates.js';
import type { TemplateId } from '../../../src/deliver/templates.js';

const TEMPLATE_DIR = new URL('../../../src/deliver/templates/', import.meta.url);

describe('deliver/templates', () => {
  it('has exactly one file per declared template', () => {
    const files = readdirSync(TEMPLATE_DIR)
      .filter((name) => name.endsWith('.md'))
      .map((name) => name.slice(0, -3))
      .sort();

    expect(files).toEqual([...TEMPLATE_IDS].sort());
  });

  it.each(TEMPLATE_IDS)('%s uses exactly the variables it declares', (id) => {
    const used = templatePlaceholders(id).sort();

    expect(used).toEqual([...TEMPLATES[id]].sort());
  });

  it.each(TEMPLATE_IDS)('%s renders with every variable filled', (id) => {
    const vars = Object.fromEntries(TEMPLATES[id].map((name) => [name, `<${name}>`]));

    const text = renderTemplate(id, vars as never);

    expect(text).not.toMatch(/\{\{|\}\}/);
    expect(text.trim()).not.toBe('');
    for (const name of TEMPLATES[id]) expect(text).toContain(`<${name}>`);
  });

  it.each<[TemplateId, Record<string, string>, string]>([
    ['did-you-mean', { suggestion: 'approve' }, 'Did you mean `approve`?'],
    ['problem-unknown-field', { field: 'colour' }, '`colour` is not a field I know.'],
    [
      'repo-url-scheme',
      { scheme: 'ssh' },
      'It uses ssh://; I only read repositories over https:// (not file://, ssh://, git:// or http://).',
    ],
  ])('renders %s', (id, vars, expected) => {
    const text = renderTemplate(id, vars as never);

    expect(text).toBe(expected);
  });

  it('drops the file’s trailing newline and collapses paragraphs emptied by a blank variable', () => {
    const text = renderTemplate('unknown-subcommand', {
      given: 'x',
      didYouMean: '',
      subcommands: '`help`',
    });

    expect(text).toBe(
      '`/ai-provision x` is not a command I know.\n\nCommands: `help`. Comment `/ai-provision help` for details.',
    );
  });

  it('does not re-read placeholders inside substituted values', () => {
    const text = renderTemplate('problem-unknown-field', { field: '{{field}}' });

    expect(text).toBe('`{{field}}` is not a field I know.');
  });

  it('throws on a missing variable, because that is a bug in the caller', () => {
    const act = (): string => renderTemplate('did-you-mean', {} as never);

    expect(act).toThrow('template "did-you-mean" needs variable "suggestion"');
  });

  it('reads each file once', () => {
    const first = templateSource('usage');

    const second = templateSource('usage');

    expect(second).toBe(first);
  });
});
