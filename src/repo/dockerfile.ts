/**
 * Dockerfile facts, read with dockerfile-ast and never executed: build stages, the image the
 * container finally runs on, its runtime, ports, user, health check, command, ENV keys, memory and
 * concurrency hints, and the "# --- Application Metadata ---" header.
 *
 * Decisions worth knowing:
 * - The final image's settings follow Docker's inheritance: when the last stage is `FROM build`, the
 *   ENV, EXPOSE, USER, HEALTHCHECK, CMD and ENTRYPOINT of stage `build` (and its own parents) apply
 *   first, then the last stage's own.
 * - Shell-form CMD/ENTRYPOINT become [...SHELL, text], by default ['/bin/sh', '-c', text]: exactly
 *   what `docker inspect` shows. JSON exec form is kept as its array.
 * - Runtime comes from the final image. When that image carries no runtime (scratch, distroless
 *   static, alpine) and the final stage copies from a Go or Rust build stage, the runtime is that
 *   stage's: a static binary runs anywhere, and Go still has its own runtime inside.
 * - Hints: the last value wins, in the order global ARG, stage ARG, ENV, RUN, ENTRYPOINT, CMD (the
 *   command line beats the environment, as it does for the JVM and gunicorn). Only the final value
 *   of each variable counts. RUN lines are scanned only for settings written into config files
 *   (php-fpm `pm.max_children`): a RUN's own flags (-Xmx for Maven) act at build time.
 * - CMD text is scanned as written; flags of a process server (gunicorn -w $N) are read with ENV
 *   values substituted, because the shell substitutes them at run time and ARGs are gone by then.
 * - Heredoc bodies (RUN <<EOF … EOF) are blanked before parsing, keeping line numbers.
 */
import { Arg, Copy, DockerfileParser, Env, From, Healthcheck } from 'dockerfile-ast';
import type { Instruction } from 'dockerfile-ast';
import { bytesFromJvmSize, bytesFromMebibytes, bytesFromMemoryQuantity } from '../units.js';
import { parseImageRef, runtimeFromImage } from './image-ref.js';
import type {
  AppMetadataHeader,
  BuildStage,
  DockerfileFacts,
  ExposedPort,
  Note,
  ImageRef,
  NoteCode,
  ResourceHints,
} from './schema.js';

export interface ParsedDockerfile {
  facts: DockerfileFacts;
  notes: Note[];
}

type HintSource = ResourceHints['sources'][number];
type Runtime = NonNullable<DockerfileFacts['runtime']>;
type HealthcheckFacts = NonNullable<DockerfileFacts['healthcheck']>;

interface TextRange {
  start: { line: number; character: number };
  end: { line: number; character: number };
}

const KNOWN_INSTRUCTIONS = new Set([
  'ADD',
  'ARG',
  'CMD',
  'COPY',
  'ENTRYPOINT',
  'ENV',
  'EXPOSE',
  'FROM',
  'HEALTHCHECK',
  'LABEL',
  'MAINTAINER',
  'ONBUILD',
  'RUN',
  'SHELL',
  'STOPSIGNAL',
  'USER',
  'VOLUME',
  'WORKDIR',
]);

/** A range such as EXPOSE 30000-40000 is cut to this many ports. */
const MAX_PORTS_PER_RANGE = 32;
/** Hint sources quote the instruction, cut to this length. */
const MAX_SOURCE_TEXT = 240;
/** Runtimes compiled into a self-contained binary that runs on any final image. */
const COMPILED_RUNTIMES = new Set(['go', 'rust']);
const DEFAULT_SHELL = ['/bin/sh', '-c'];

/**
 * Parses one Dockerfile. Never throws: unreadable, empty or odd content yields notes and whatever
 * facts could still be read. `path` is repository-relative and is put on every note.
 */
export function parseDockerfile(text: string, path: string): ParsedDockerfile {
  try {
    return analyse(text, path);
  } catch (error) {
    // dockerfile-ast is tolerant, but a parser bug on hostile input must not sink the analysis.
    const reason = error instanceof Error ? error.message : String(error);
    return minimal(path, 'dockerfile-unreadable', `Dockerfile could not be parsed: ${reason}`);
  }
}

function minimal(path: string, code: NoteCode, message: string): ParsedDockerfile {
  return {
    facts: { path, stages: [], expose: [], envKeys: [], hints: { sources: [] } },
    notes: [{ code, path, message }],
  };
}

interface Context {
  path: string;
  notes: Note[];
  /** The text after CRLF normalisation and heredoc blanking, split into lines. */
  lines: string[];
  continuation: RegExp;
}

function addNote(ctx: Context, code: NoteCode, message: string): void {
  ctx.notes.push({ code, path: ctx.path, message });
}

interface VarEntry {
  /** undefined: declared by ARG without a default, so only known at build time. */
  value: string | undefined;
  source: HintSource;
}

interface Stage {
  index: number;
  name: string | undefined;
  /** As written, ARGs substituted when all are known. */
  baseImage: string;
  /** The earlier stage this one is built FROM, when its base is a stage name. */
  parent: Stage | undefined;
  instructions: Instruction[];
}

function analyse(text: string, path: string): ParsedDockerfile {
  if (looksBinary(text)) {
    return minimal(path, 'dockerfile-unreadable', 'Dockerfile looks like binary content');
  }
  const normalised = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  if (normalised.trim() === '') {
    return minimal(path, 'dockerfile-syntax', 'Dockerfile is empty');
  }

  const escape = escapeDirective(normalised);
  const continuation = new RegExp(`${escape === '`' ? '`' : '\\\\'}[ \\t]*$`);
  const pre = blankHeredocs(normalised.split('\n'), continuation);
  const ctx: Context = { path, notes: [], lines: pre.lines, continuation };
  if (pre.skipped.length > 0) {
    const spans = pre.skipped.map(({ from, to }) =>
      from === to ? `${from + 1}` : `${from + 1}-${to + 1}`,
    );
    const tail = pre.unterminated ? ' (the last one is never closed)' : '';
    addNote(
      ctx,
      'dockerfile-heredoc',
      `Heredoc bodies not parsed as instructions: lines ${spans.join(', ')}${tail}`,
    );
  }

  const dockerfile = DockerfileParser.parse(pre.lines.join('\n'));
  const { stages, globalArgs } = collectStages(ctx, dockerfile.getInstructions());
  const metadata = parseMetadata(ctx);

  const finalStage = stages.at(-1);
  if (!finalStage) {
    addNote(ctx, 'dockerfile-syntax', 'Dockerfile has no FROM instruction');
    return {
      facts: {
        path,
        stages: [],
        expose: [],
        envKeys: [],
        hints: { sources: [] },
        ...(metadata && { metadata }),
      },
      notes: ctx.notes,
    };
  }

  const chain = stageChain(finalStage);
  const image = readImageConfig(ctx, chain, globalArgs);
  const rootImage = chain[0]!.baseImage;
  const finalImage = rootImage === '' ? undefined : parseImageRef(rootImage);
  const runtime = finalImage && runtimeOf(finalImage, image.copyFrom, stages);
  const hints = collectHints(image, globalArgs);

  const facts: DockerfileFacts = {
    path,
    stages: stages.map((stage): BuildStage => ({
      index: stage.index,
      ...(stage.name !== undefined && { name: stage.name }),
      baseImage: stage.baseImage,
    })),
    ...(finalImage && { finalImage }),
    ...(runtime && { runtime }),
    expose: [...image.expose.values()],
    ...(image.user !== undefined && { user: image.user }),
    ...(image.healthcheck && { healthcheck: image.healthcheck }),
    ...(image.entrypoint && { entrypoint: image.entrypoint.argv }),
    ...(image.cmd && { cmd: image.cmd.argv }),
    envKeys: [...image.env.keys()],
    hints,
    ...(metadata && { metadata }),
  };
  return { facts, notes: ctx.notes };
}

// ---------------------------------------------------------------------------------------------
// Text preparation

/** NUL bytes, or more than 10% control/replacement characters in the first 8 KiB. */
function looksBinary(text: string): boolean {
  if (text.includes('\u0000')) return true;
  const sample = text.slice(0, 8192);
  let odd = 0;
  for (const char of sample) {
    const code = char.charCodeAt(0);
    if ((code < 32 && !'\t\n\r\f\v'.includes(char)) || char === '\uFFFD') odd += 1;
  }
  return sample.length > 0 && odd / sample.length > 0.1;
}

const DIRECTIVE = /^#\s*(?<name>[A-Za-z]+)\s*=\s*(?<value>\S+)\s*$/;

/** The `# escape=` parser directive; directives are only read at the very top of the file. */
function escapeDirective(text: string): string {
  for (const line of text.split('\n', 8)) {
    const groups = DIRECTIVE.exec(line)?.groups;
    if (!groups) return '\\';
    if (
      groups.name!.toLowerCase() === 'escape' &&
      (groups.value === '`' || groups.value === '\\')
    ) {
      return groups.value;
    }
  }
  return '\\';
}

const HEREDOC_MARKER = /(?<!<)<<-?(?<quote>["']?)(?<word>[A-Za-z_][\w.-]*)\k<quote>/g;
const HEREDOC_INSTRUCTIONS = new Set(['RUN', 'COPY', 'ADD']);
const INSTRUCTION_START = /^\s*(?<keyword>[A-Za-z]+)(?<rest>.*)$/;
const LEADING_FLAGS = /^(?:\s+--\S+)*\s*/;

interface Preprocessed {
  lines: string[];
  /** Zero-based inclusive line spans that were blanked. */
  skipped: Array<{ from: number; to: number }>;
  unterminated: boolean;
}

/**
 * Blanks BuildKit heredoc bodies and their closing delimiters, and the `<<EOF` markers themselves,
 * so that a body line such as "FROM evil" never becomes an instruction. Line count and numbering
 * are unchanged. One pass over the lines.
 */
function blankHeredocs(input: string[], continuation: RegExp): Preprocessed {
  const lines = [...input];
  const skipped: Preprocessed['skipped'] = [];
  let unterminated = false;
  let inInstruction = false;
  let markers: 'ignore' | 'heredoc' | 'defuse' = 'ignore';
  let pending: string[] = [];

  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i]!;
    if (!inInstruction) {
      if (/^\s*(?:#|$)/.test(line)) continue;
      const groups = INSTRUCTION_START.exec(line)?.groups;
      const keyword = groups?.keyword?.toUpperCase() ?? '';
      const execForm = (groups?.rest ?? '').replace(LEADING_FLAGS, '').startsWith('[');
      // Heredocs exist only in shell form and COPY/ADD sources. In JSON exec form "<<" is plain
      // text, but dockerfile-ast would still open a heredoc there, so the marker is defused.
      markers = HEREDOC_INSTRUCTIONS.has(keyword) ? (execForm ? 'defuse' : 'heredoc') : 'ignore';
      inInstruction = true;
    } else if (/^\s*#/.test(line)) {
      continue;
    }

    if (markers !== 'ignore' && line.includes('<<')) {
      if (markers === 'heredoc') {
        for (const match of line.matchAll(HEREDOC_MARKER)) pending.push(match.groups!.word!);
      }
      lines[i] = line.replace(HEREDOC_MARKER, (marker) =>
        markers === 'heredoc' ? ' '.repeat(marker.length) : `  ${marker.slice(2)}`,
      );
    }
    if (continuation.test(lines[i]!)) continue;
    inInstruction = false;

    for (const word of pending) {
      const from = i + 1;
      let end = from;
      while (end < lines.length && lines[end]!.trim() !== word) end += 1;
      if (end >= lines.length) unterminated = true;
      const to = Math.min(end, lines.length - 1);
      for (let k = from; k <= to; k += 1) lines[k] = '';
      const previous = skipped.at(-1);
      if (previous && previous.to + 1 === from) previous.to = to;
      else if (to >= from) skipped.push({ from, to });
      i = to;
    }
    pending = [];
  }
  return { lines, skipped, unterminated };
}

/**
 * One logical line for a range: continuation escapes removed, comment and blank lines inside a
 * continuation dropped (Docker ignores them), runs of whitespace at the joins collapsed.
 */
function logicalText(ctx: Context, range: TextRange | null): string {
  if (!range) return '';
  let out = '';
  let spaceBefore = false;
  for (let line = range.start.line; line <= range.end.line; line += 1) {
    const full = ctx.lines[line] ?? '';
    const segment = full.slice(
      line === range.start.line ? range.start.character : 0,
      line === range.end.line ? range.end.character : undefined,
    );
    if (line > range.start.line && /^\s*(?:#|$)/.test(segment)) continue;
    const body = segment.replace(ctx.continuation, '');
    const trimmed = body.trim();
    if (trimmed === '') continue;
    const joinWithSpace = spaceBefore || /^\s/.test(body);
    out += out === '' ? trimmed : `${joinWithSpace ? ' ' : ''}${trimmed}`;
    spaceBefore = /\s$/.test(body);
  }
  return out;
}

function lineOf(instruction: Instruction): number {
  return instruction.getRange().start.line + 1;
}

function sourceText(text: string): string {
  return text.length > MAX_SOURCE_TEXT ? `${text.slice(0, MAX_SOURCE_TEXT - 1)}…` : text;
}

// ---------------------------------------------------------------------------------------------
// Variables

const VARIABLE =
  /\\\$|\$\{(?<braced>[A-Za-z_]\w*)(?:(?<op>:?[-+])(?<word>[^}]*))?\}|\$(?<bare>[A-Za-z_]\w*)/g;

type Lookup = (name: string) => string | undefined;

/**
 * Docker's build-time substitution: $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:+alt},
 * ${VAR+alt} and \$ for a literal dollar. Unknown variables are left as written and listed.
 */
function substitute(text: string, lookup: Lookup): { value: string; unresolved: string[] } {
  if (!text.includes('$')) return { value: text, unresolved: [] };
  const unresolved: string[] = [];
  let value = '';
  let last = 0;
  for (const match of text.matchAll(VARIABLE)) {
    value += text.slice(last, match.index);
    last = match.index + match[0].length;
    if (match[0] === '\\$') {
      value += '$';
      continue;
    }
    const groups = match.groups!;
    const name = (groups.braced ?? groups.bare)!;
    const known = lookup(name);
    const op = groups.op;
    if (op === undefined) {
      if (known === undefined) unresolved.push(name);
      value += known ?? match[0];
    } else if (op === ':-' || op === '-') {
      const useKnown = known !== undefined && (op === '-' || known !== '');
      if (useKnown) {
        value += known;
      } else {
        const fallback = substitute(groups.word ?? '', lookup);
        unresolved.push(...fallback.unresolved);
        value += fallback.value;
      }
    } else {
      const set = known !== undefined && (op === '+' || known !== '');
      value += set ? substitute(groups.word ?? '', lookup).value : '';
    }
  }
  return { value: value + text.slice(last), unresolved };
}

// ---------------------------------------------------------------------------------------------
// Stages

function collectStages(
  ctx: Context,
  instructions: Instruction[],
): { stages: Stage[]; globalArgs: Map<string, VarEntry> } {
  const stages: Stage[] = [];
  const byName = new Map<string, Stage>();
  const globalArgs = new Map<string, VarEntry>();
  const unknown: string[] = [];
  const beforeFrom: number[] = [];

  for (const instruction of instructions) {
    const keyword = instruction.getKeyword();
    if (!KNOWN_INSTRUCTIONS.has(keyword)) {
      unknown.push(`${printable(keyword)} (line ${lineOf(instruction)})`);
      continue;
    }
    if (instruction instanceof From) {
      const stage = readFrom(ctx, instruction, stages.length, byName, globalArgs);
      stages.push(stage);
      if (stage.name !== undefined) byName.set(stage.name.toLowerCase(), stage);
      continue;
    }
    const current = stages.at(-1);
    if (current) {
      current.instructions.push(instruction);
    } else if (instruction instanceof Arg) {
      declareArgs(ctx, instruction, globalArgs, (name) => globalArgs.get(name)?.value, undefined);
    } else {
      beforeFrom.push(lineOf(instruction));
    }
  }

  if (unknown.length > 0) {
    const shown = unknown.slice(0, 5).join(', ');
    const more = unknown.length > 5 ? ` and ${unknown.length - 5} more` : '';
    addNote(ctx, 'dockerfile-syntax', `Unknown instructions ignored: ${shown}${more}`);
  }
  // Without any FROM the caller notes that instead; listing every line would only repeat it.
  if (beforeFrom.length > 0 && stages.length > 0) {
    addNote(
      ctx,
      'dockerfile-syntax',
      `Instructions before the first FROM ignored: lines ${beforeFrom.join(', ')}`,
    );
  }
  return { stages, globalArgs };
}

function printable(keyword: string): string {
  return keyword.replace(/[^\x20-\x7e]/g, '?').slice(0, 24);
}

function readFrom(
  ctx: Context,
  instruction: From,
  index: number,
  byName: Map<string, Stage>,
  globalArgs: Map<string, VarEntry>,
): Stage {
  const written = instruction.getImage() ?? '';
  const name = instruction.getBuildStage() ?? undefined;
  if (written === '') {
    addNote(ctx, 'dockerfile-syntax', `FROM without an image on line ${lineOf(instruction)}`);
  }
  // Only ARGs declared before the first FROM are visible to FROM lines.
  const { value, unresolved } = substitute(written, (arg) => globalArgs.get(arg)?.value);
  if (unresolved.length > 0) {
    addNote(
      ctx,
      'dockerfile-arg-in-from',
      `FROM ${written} on line ${lineOf(instruction)}: no default for ${[...new Set(unresolved)].join(', ')}; image kept as written`,
    );
  }
  const baseImage = unresolved.length > 0 ? written : value;
  return {
    index,
    name,
    baseImage,
    parent: byName.get(baseImage.toLowerCase()),
    instructions: [],
  };
}

/** The final stage and the stages it is built FROM, oldest first. */
function stageChain(stage: Stage): Stage[] {
  const chain: Stage[] = [];
  for (let current: Stage | undefined = stage; current; current = current.parent) {
    chain.push(current);
  }
  return chain.reverse();
}

function rootImageOf(stage: Stage): string {
  let current = stage;
  while (current.parent) current = current.parent;
  return current.baseImage;
}

function runtimeOf(finalImage: ImageRef, copyFrom: string[], stages: Stage[]): Runtime | undefined {
  const runtime = runtimeFromImage(finalImage);
  if (runtime && runtime.name !== 'native') return runtime;
  for (const from of copyFrom) {
    const source = /^\d+$/.test(from)
      ? stages[Number(from)]
      : stages.find((stage) => stage.name?.toLowerCase() === from.toLowerCase());
    const built = source && runtimeFromImage(parseImageRef(rootImageOf(source)));
    if (built && COMPILED_RUNTIMES.has(built.name)) return built;
  }
  return runtime;
}

// ---------------------------------------------------------------------------------------------
// The final image's configuration

interface CommandForm {
  argv: string[];
  /** The arguments as written, one logical line. */
  text: string;
  exec: boolean;
  source: HintSource;
}

interface ImageConfig {
  /** Final value of every ENV in the chain, in first-set order. */
  env: Map<string, VarEntry>;
  /** Final value of every ARG declared in the chain's stages. */
  args: Map<string, VarEntry>;
  expose: Map<string, ExposedPort>;
  user: string | undefined;
  healthcheck: HealthcheckFacts | undefined;
  entrypoint: CommandForm | undefined;
  cmd: CommandForm | undefined;
  copyFrom: string[];
  runs: Array<{ text: string; source: HintSource }>;
}

function readImageConfig(
  ctx: Context,
  chain: Stage[],
  globalArgs: Map<string, VarEntry>,
): ImageConfig {
  const config: ImageConfig = {
    env: new Map(),
    args: new Map(),
    expose: new Map(),
    user: undefined,
    healthcheck: undefined,
    entrypoint: undefined,
    cmd: undefined,
    copyFrom: [],
    runs: [],
  };
  let shell = DEFAULT_SHELL;

  for (const stage of chain) {
    // ARGs are scoped to their stage; ENV is inherited by stages built FROM it.
    const stageArgs = new Map<string, VarEntry>();
    const lookup: Lookup = (name) => config.env.get(name)?.value ?? stageArgs.get(name)?.value;
    let cmdSetHere = false;

    for (const instruction of stage.instructions) {
      const keyword = instruction.getKeyword();
      const args = logicalText(ctx, instruction.getArgumentsRange());
      const source: HintSource = {
        instruction: 'RUN',
        line: lineOf(instruction),
        text: sourceText(`${keyword} ${args}`),
      };

      if (instruction instanceof Arg) {
        declareArgs(ctx, instruction, stageArgs, lookup, globalArgs);
      } else if (instruction instanceof Env) {
        for (const property of instruction.getProperties()) {
          const raw = property.getValue() ?? '';
          config.env.set(property.getName(), {
            value: substitute(raw, lookup).value,
            source: {
              instruction: 'ENV',
              line: property.getRange().start.line + 1,
              text: sourceText(`ENV ${logicalText(ctx, property.getRange())}`),
            },
          });
        }
      } else if (keyword === 'EXPOSE') {
        readExpose(ctx, args, lookup, lineOf(instruction), config.expose);
      } else if (keyword === 'USER') {
        if (args !== '') config.user = substitute(args, lookup).value;
      } else if (instruction instanceof Healthcheck) {
        config.healthcheck = readHealthcheck(ctx, instruction) ?? config.healthcheck;
      } else if (keyword === 'SHELL') {
        shell = stringArray(args) ?? shell;
      } else if (keyword === 'ENTRYPOINT' || keyword === 'CMD') {
        const form = commandForm(args, shell, { ...source, instruction: keyword });
        if (!form) {
          addNote(
            ctx,
            'dockerfile-syntax',
            `${keyword} without arguments on line ${lineOf(instruction)}`,
          );
        } else if (keyword === 'CMD') {
          config.cmd = form;
          cmdSetHere = true;
        } else {
          config.entrypoint = form;
          // Docker resets a CMD inherited from the parent image when ENTRYPOINT is set.
          if (!cmdSetHere) config.cmd = undefined;
        }
      } else if (instruction instanceof Copy) {
        const from = instruction.getFromFlag()?.getValue();
        if (from) config.copyFrom.push(from);
      } else if (keyword === 'RUN') {
        config.runs.push({ text: args, source });
      }
    }
    for (const [name, entry] of stageArgs) config.args.set(name, entry);
  }
  return config;
}

/** ARG NAME[=default] …; a bare `ARG NAME` inside a stage takes the global default, if any. */
function declareArgs(
  ctx: Context,
  instruction: Arg,
  into: Map<string, VarEntry>,
  lookup: Lookup,
  globalArgs: Map<string, VarEntry> | undefined,
): void {
  for (const property of instruction.getProperties()) {
    const name = property.getName();
    const raw = property.getValue();
    const inherited = raw === null ? globalArgs?.get(name) : undefined;
    if (inherited) {
      into.set(name, inherited);
      continue;
    }
    into.set(name, {
      value: raw === null ? undefined : substitute(raw, lookup).value,
      source: {
        instruction: 'ARG',
        line: property.getRange().start.line + 1,
        text: sourceText(`ARG ${logicalText(ctx, property.getRange())}`),
      },
    });
  }
}

const PORT_SPEC = /^(?<from>\d+)(?:-(?<to>\d+))?(?:\/(?<protocol>[A-Za-z]+))?$/;

function readExpose(
  ctx: Context,
  args: string,
  lookup: Lookup,
  line: number,
  into: Map<string, ExposedPort>,
): void {
  for (const written of args.split(/\s+/).filter(Boolean)) {
    const { value, unresolved } = substitute(written, lookup);
    if (unresolved.length > 0) {
      addNote(
        ctx,
        'dockerfile-syntax',
        `EXPOSE ${written} on line ${line}: ${unresolved.join(', ')} has no known value`,
      );
      continue;
    }
    for (const spec of value.split(/\s+/).filter(Boolean)) {
      const groups = PORT_SPEC.exec(spec)?.groups;
      const protocol = (groups?.protocol ?? 'tcp').toLowerCase();
      const from = Number(groups?.from);
      const to = groups?.to === undefined ? from : Number(groups.to);
      if (!groups || (protocol !== 'tcp' && protocol !== 'udp') || to < from || to > 65535) {
        addNote(
          ctx,
          'dockerfile-syntax',
          `EXPOSE ${spec} on line ${line} is not a port this analysis understands`,
        );
        continue;
      }
      const last = Math.min(to, from + MAX_PORTS_PER_RANGE - 1);
      if (last < to) {
        addNote(
          ctx,
          'dockerfile-syntax',
          `EXPOSE ${spec} on line ${line}: only the first ${MAX_PORTS_PER_RANGE} ports kept`,
        );
      }
      for (let port = from; port <= last; port += 1) {
        into.set(`${port}/${protocol}`, { port, protocol });
      }
    }
  }
}

function readHealthcheck(ctx: Context, instruction: Healthcheck): HealthcheckFacts | undefined {
  const subcommand = instruction.getSubcommand();
  const kind = subcommand?.getValue().toUpperCase();
  if (kind === 'NONE') return { disabled: true };
  const argsRange = instruction.getArgumentsRange();
  if (kind !== 'CMD' || !subcommand || !argsRange) {
    addNote(
      ctx,
      'dockerfile-syntax',
      `HEALTHCHECK on line ${lineOf(instruction)} has neither CMD nor NONE`,
    );
    return undefined;
  }
  const commandText = logicalText(ctx, { start: subcommand.getRange().end, end: argsRange.end });
  const command = stringArray(commandText)?.join(' ') ?? commandText;
  const healthcheck: HealthcheckFacts = { disabled: false, ...(command !== '' && { command }) };
  for (const flag of instruction.getFlags()) {
    const value = flag.getValue() ?? '';
    const name = flag.getName().toLowerCase();
    if (name === 'interval' || name === 'timeout') {
      const seconds = secondsFromDuration(value);
      if (seconds !== undefined)
        healthcheck[name === 'interval' ? 'intervalSeconds' : 'timeoutSeconds'] = seconds;
    } else if (name === 'retries' && /^\d+$/.test(value)) {
      healthcheck.retries = Number(value);
    }
  }
  return healthcheck;
}

const DURATION = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/;
const DURATION_PART = /(?<amount>\d+(?:\.\d+)?)(?<unit>ns|us|µs|ms|s|m|h)/g;
const SECONDS_PER_UNIT: Record<string, number> = {
  ns: 1e-9,
  us: 1e-6,
  µs: 1e-6,
  ms: 1e-3,
  s: 1,
  m: 60,
  h: 3600,
};

/** Go durations as Docker takes them: "30s", "1m30s", "500ms", "1.5h". */
function secondsFromDuration(text: string): number | undefined {
  if (!DURATION.test(text)) return undefined;
  let seconds = 0;
  for (const part of text.matchAll(DURATION_PART)) {
    seconds += Number(part.groups!.amount) * SECONDS_PER_UNIT[part.groups!.unit!]!;
  }
  return Math.round(seconds * 1000) / 1000;
}

/** A JSON array of strings, as in exec form; undefined for anything else (Docker's rule). */
function stringArray(text: string): string[] | undefined {
  if (!text.startsWith('[')) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (Array.isArray(parsed) && parsed.every((item) => typeof item === 'string')) return parsed;
  } catch {
    // Not JSON: Docker then treats the text as shell form, and so do we.
  }
  return undefined;
}

function commandForm(text: string, shell: string[], source: HintSource): CommandForm | undefined {
  if (text === '') return undefined;
  const exec = stringArray(text);
  if (exec) return { argv: exec, text, exec: true, source };
  return { argv: [...shell, text], text, exec: false, source };
}

// ---------------------------------------------------------------------------------------------
// Hints

type NumericHint = Exclude<keyof ResourceHints, 'workers' | 'sources'>;

interface WorkerHints {
  /** Named by the command (gunicorn, puma, …). */
  server?: string;
  /** Implied by a variable (RAILS_MAX_THREADS → puma), used when the command names none. */
  impliedServer?: string;
  processes?: number;
  threads?: number;
  libuvThreads?: number;
}

interface HintCollector {
  values: Partial<Record<NumericHint, number>>;
  workers: WorkerHints;
  sources: HintSource[];
  seen: Set<string>;
}

interface TextHint {
  pattern: RegExp;
  /** Records the hint; false when the matched value is unusable. */
  apply(groups: Record<string, string | undefined>, collector: HintCollector): boolean;
}

function setValue(collector: HintCollector, key: NumericHint, value: number | undefined): boolean {
  if (value === undefined || !Number.isFinite(value)) return false;
  collector.values[key] = value;
  return true;
}

function setWorkers(collector: HintCollector, patch: WorkerHints): boolean {
  Object.assign(collector.workers, patch);
  return true;
}

/** Settings a RUN writes into config files; a RUN's other flags act at build time only. */
const RUN_HINTS: TextHint[] = [
  {
    pattern:
      /(?<![\w.])pm\.max_children\s*=\s*(?<count>\d+)|\b[A-Z_]*PM_MAX_CHILDREN=["']?(?<envCount>\d+)/gi,
    apply: (g, c) =>
      setWorkers(c, { processes: Number(g.count ?? g.envCount), impliedServer: 'php-fpm' }),
  },
];

/** Hints recognisable in any text: an ENV/ARG as NAME=value, or a command line. */
const TEXT_HINTS: TextHint[] = [
  {
    pattern: /(?<![\w-])-Xmx(?<size>\d+[kKmMgGtT]?)(?![\w.])/g,
    apply: (g, c) => setValue(c, 'jvmMaxHeapBytes', bytesFromJvmSize(g.size!)),
  },
  {
    pattern: /(?<![\w-])-Xms(?<size>\d+[kKmMgGtT]?)(?![\w.])/g,
    apply: (g, c) => setValue(c, 'jvmInitialHeapBytes', bytesFromJvmSize(g.size!)),
  },
  {
    pattern: /-XX:MaxRAMPercentage=(?<percent>\d+(?:\.\d+)?)/g,
    apply: (g, c) => setValue(c, 'jvmMaxRamPercentage', Number(g.percent)),
  },
  {
    pattern: /--max[-_]old[-_]space[-_]size(?:=|\s+)(?<mib>\d+)/g,
    apply: (g, c) => setValue(c, 'nodeMaxOldSpaceBytes', bytesFromMebibytes(Number(g.mib))),
  },
  {
    pattern: /(?<!\w)GOMAXPROCS=["']?(?<count>\d+)/g,
    apply: (g, c) => setValue(c, 'gomaxprocs', Number(g.count)),
  },
  {
    // Go takes B, KiB, MiB, GiB, TiB; decimal "1GB" is tolerated as 10^9.
    pattern: /(?<!\w)GOMEMLIMIT=["']?(?<amount>\d+(?:\.\d+)?)(?<unit>[KMGTPE]i?B|B)?(?![\w.])/g,
    apply: (g, c) =>
      setValue(
        c,
        'goMemLimitBytes',
        bytesFromMemoryQuantity(`${g.amount}${(g.unit ?? '').replace(/B$/, '')}`),
      ),
  },
  {
    pattern: /(?<!\w)WEB_CONCURRENCY=["']?(?<count>\d+)/g,
    apply: (g, c) => setWorkers(c, { processes: Number(g.count) }),
  },
  {
    pattern: /(?<!\w)UVICORN_WORKERS=["']?(?<count>\d+)/g,
    apply: (g, c) => setWorkers(c, { processes: Number(g.count), impliedServer: 'uvicorn' }),
  },
  {
    pattern: /(?<!\w)RAILS_MAX_THREADS=["']?(?<count>\d+)/g,
    apply: (g, c) => setWorkers(c, { threads: Number(g.count), impliedServer: 'puma' }),
  },
  {
    pattern: /(?<!\w)UV_THREADPOOL_SIZE=["']?(?<count>\d+)/g,
    apply: (g, c) => setWorkers(c, { libuvThreads: Number(g.count) }),
  },
  ...RUN_HINTS,
];

interface ServerRule {
  server: string;
  processes: string[];
  threads: string[];
  /** The word that must follow ("rails server", "fastapi run"). */
  subcommands?: string[];
}

/** Process servers by executable name, with the flags that set their processes and threads. */
const SERVERS = new Map<string, ServerRule>([
  ['gunicorn', { server: 'gunicorn', processes: ['-w', '--workers'], threads: ['--threads'] }],
  ['uvicorn', { server: 'uvicorn', processes: ['--workers'], threads: [] }],
  ['hypercorn', { server: 'hypercorn', processes: ['-w', '--workers'], threads: [] }],
  ['fastapi', { server: 'uvicorn', processes: ['--workers'], threads: [], subcommands: ['run'] }],
  ['celery', { server: 'celery', processes: ['-c', '--concurrency'], threads: [] }],
  ['puma', { server: 'puma', processes: ['-w', '--workers'], threads: ['-t', '--threads'] }],
  ['rails', { server: 'puma', processes: [], threads: [], subcommands: ['server', 's'] }],
  ['pm2-runtime', { server: 'pm2', processes: ['-i', '--instances'], threads: [] }],
  ['pm2', { server: 'pm2', processes: ['-i', '--instances'], threads: [] }],
  ['php-fpm', { server: 'php-fpm', processes: [], threads: [] }],
]);

/** Variables whose value is a server's command line. */
const SERVER_ARGS_VARIABLES = new Map([['GUNICORN_CMD_ARGS', 'gunicorn']]);

const COMMAND_SEPARATORS = new Set(['&&', '||', ';', '|', '&']);

function collectHints(config: ImageConfig, globalArgs: Map<string, VarEntry>): ResourceHints {
  const collector: HintCollector = { values: {}, workers: {}, sources: [], seen: new Set() };

  for (const [name, entry] of [...globalArgs, ...config.args, ...config.env]) {
    // An ARG shadowed by an ENV of the same name never reaches the container.
    const shadowed = config.env.has(name) && config.env.get(name) !== entry;
    if (entry.value === undefined || shadowed) continue;
    scanText(collector, `${name}=${entry.value}`, entry.source, TEXT_HINTS);
    const server = SERVER_ARGS_VARIABLES.get(name);
    if (server)
      scanServerFlags(collector, SERVERS.get(server)!, tokens(entry.value, entry.source), 0);
  }
  for (const run of config.runs) scanText(collector, run.text, run.source, RUN_HINTS);

  // A shell-form ENTRYPOINT ignores CMD altogether.
  const commands =
    config.entrypoint && !config.entrypoint.exec
      ? [config.entrypoint]
      : [config.entrypoint, config.cmd];
  const argv: Token[] = [];
  for (const command of commands) {
    if (!command) continue;
    scanText(collector, command.text, command.source, TEXT_HINTS);
    const words = command.exec ? command.argv : [command.text];
    for (const word of words) argv.push(...tokens(word, command.source));
  }
  scanCommand(collector, argv, (name) => config.env.get(name)?.value);

  return finishHints(collector);
}

function addSource(collector: HintCollector, source: HintSource): void {
  const key = `${source.instruction}:${source.line}:${source.text}`;
  if (collector.seen.has(key)) return;
  collector.seen.add(key);
  collector.sources.push(source);
}

function scanText(
  collector: HintCollector,
  text: string,
  source: HintSource,
  hints: TextHint[],
): void {
  for (const hint of hints) {
    for (const match of text.matchAll(hint.pattern)) {
      if (hint.apply(match.groups ?? {}, collector)) addSource(collector, source);
    }
  }
}

interface Token {
  value: string;
  source: HintSource;
}

/** Shell words: whitespace-separated, with '…', "…" and \-escapes; no expansion. */
function tokens(text: string, source: HintSource): Token[] {
  const out: Token[] = [];
  let word = '';
  let inWord = false;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i]!;
    if (quote) {
      if (char === quote) quote = undefined;
      else if (char === '\\' && quote === '"' && i + 1 < text.length) word += text[++i];
      else word += char;
    } else if (char === "'" || char === '"') {
      quote = char;
      inWord = true;
    } else if (char === '\\' && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(char)) {
      if (inWord) out.push({ value: word, source });
      word = '';
      inWord = false;
    } else {
      word += char;
      inWord = true;
    }
  }
  if (inWord) out.push({ value: word, source });
  return out;
}

function serverAt(argv: Token[], index: number): ServerRule | undefined {
  const word = argv[index]!.value;
  const executable = word
    .slice(word.lastIndexOf('/') + 1)
    .replace(/^(?<fpm>php-fpm)[\d.]*$/, '$<fpm>');
  const rule = SERVERS.get(executable);
  if (!rule?.subcommands) return rule;
  const next = argv[index + 1]?.value;
  return next !== undefined && rule.subcommands.includes(next) ? rule : undefined;
}

/** Finds the first process server on the command line and reads its flags. */
function scanCommand(collector: HintCollector, argv: Token[], env: Lookup): void {
  for (let index = 0; index < argv.length; index += 1) {
    const rule = serverAt(argv, index);
    if (!rule) continue;
    collector.workers.server = rule.server;
    addSource(collector, argv[index]!.source);
    const resolved = argv.map((token) => ({ ...token, value: substitute(token.value, env).value }));
    scanServerFlags(collector, rule, resolved, index + 1);
    return;
  }
}

function scanServerFlags(
  collector: HintCollector,
  rule: ServerRule,
  argv: Token[],
  start: number,
): void {
  if (!collector.workers.server) collector.workers.impliedServer = rule.server;
  for (let index = start; index < argv.length; index += 1) {
    const word = argv[index]!.value;
    if (COMMAND_SEPARATORS.has(word)) return;
    const flag = flagValue(word, argv[index + 1]?.value, [...rule.processes, ...rule.threads]);
    if (!flag) continue;
    const isThreads = rule.threads.includes(flag.name);
    // puma's -t takes min:max; the maximum is what sizing needs.
    const count = /^(?:\d+:)?(?<max>\d+)$/.exec(flag.value)?.groups?.max;
    if (count === undefined) continue;
    setWorkers(collector, isThreads ? { threads: Number(count) } : { processes: Number(count) });
    addSource(collector, argv[index]!.source);
  }
}

/** "--workers=4", "--workers 4", "-w 4", "-w4" for the given flag names. */
function flagValue(
  word: string,
  next: string | undefined,
  names: string[],
): { name: string; value: string } | undefined {
  for (const name of names) {
    if (word === name) return next === undefined ? undefined : { name, value: next };
    if (name.startsWith('--') && word.startsWith(`${name}=`))
      return { name, value: word.slice(name.length + 1) };
    if (!name.startsWith('--') && word.startsWith(name) && word.length > name.length) {
      return { name, value: word.slice(name.length) };
    }
  }
  return undefined;
}

function finishHints(collector: HintCollector): ResourceHints {
  const { values, workers } = collector;
  let server = workers.server ?? workers.impliedServer;
  let threads = workers.threads;
  // libuv's thread pool is Node's, so it only describes a Node process or pm2's workers.
  if (
    workers.libuvThreads !== undefined &&
    threads === undefined &&
    (server === undefined || server === 'pm2')
  ) {
    threads = workers.libuvThreads;
    server ??= 'libuv';
  }
  const hasWorkers =
    server !== undefined || workers.processes !== undefined || threads !== undefined;
  return {
    ...values,
    ...(hasWorkers && {
      workers: {
        server: server ?? 'unknown',
        ...(workers.processes !== undefined && { processes: workers.processes }),
        ...(threads !== undefined && { threads }),
      },
    }),
    sources: collector.sources,
  };
}

// ---------------------------------------------------------------------------------------------
// The "# --- Application Metadata ---" header

const METADATA_START = /^\s*#\s*-*\s*application[\s_-]*metadata\s*-*\s*$/i;
const COMMENT = /^\s*#(?<content>.*)$/;
const METADATA_ENTRY = /^(?<key>[A-Za-z][\w .-]*?)\s*[:=]\s*(?<value>.*)$/;
const METADATA_NUMBER =
  /^(?<int>\d{1,3}(?:[,_]\d{3})+|\d+)(?<fraction>\.\d+)?\s*(?<thousands>[kK])?\s*(?<unit>[A-Za-z/]*)$/;
const NUMERIC_KEYS = new Map<string, string[]>([
  ['expected_qps', ['', 'qps', 'rps', 'req/s']],
  ['sla_latency_ms', ['', 'ms']],
]);
const STRING_KEYS = ['name', 'language', 'framework', 'criticality', 'oom_tolerance'] as const;
type StringKey = (typeof STRING_KEYS)[number];

function isStringKey(key: string): key is StringKey {
  return (STRING_KEYS as readonly string[]).includes(key);
}

/**
 * The first metadata block anywhere in the file. It ends at a "# ---…" line, or, when that closing
 * line is missing, at the first line that is not a comment. Keys are case- and dash-insensitive.
 */
function parseMetadata(ctx: Context): AppMetadataHeader | undefined {
  const start = ctx.lines.findIndex((line) => METADATA_START.test(line));
  if (start < 0) return undefined;

  const metadata: AppMetadataHeader = { other: {} };
  for (let index = start + 1; index < ctx.lines.length; index += 1) {
    const content = COMMENT.exec(ctx.lines[index]!)?.groups?.content?.trim();
    if (content === undefined) break;
    if (content.startsWith('---') || /^[=*_]{3,}$/.test(content)) break;
    const entry = METADATA_ENTRY.exec(content)?.groups;
    if (!entry) continue;
    const key = entry
      .key!.trim()
      .toLowerCase()
      .replace(/[\s.-]+/g, '_');
    const value = entry.value!.trim().replace(/^(["'])(?<inner>.*)\1$/, '$<inner>');
    if (value === '') continue;

    const units = NUMERIC_KEYS.get(key);
    if (units) {
      const number = metadataNumber(value, units);
      if (number === undefined) {
        addNote(
          ctx,
          'metadata-invalid',
          `Metadata ${key} on line ${index + 1} is not a number: "${value}"`,
        );
      } else {
        metadata[key === 'expected_qps' ? 'expected_qps' : 'sla_latency_ms'] = number;
      }
    } else if (isStringKey(key)) {
      metadata[key] = value;
    } else {
      metadata.other[key] = value;
    }
  }
  return metadata;
}

/** "500", "2,000", "1_500", "2k", "500 rps", "100ms"; anything else is undefined. */
function metadataNumber(value: string, units: string[]): number | undefined {
  const groups = METADATA_NUMBER.exec(value)?.groups;
  if (!groups || !units.includes(groups.unit!.toLowerCase())) return undefined;
  const number = Number(`${groups.int!.replace(/[,_]/g, '')}${groups.fraction ?? ''}`);
  return groups.thousands ? number * 1000 : number;
}
