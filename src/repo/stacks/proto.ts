/**
 * Protocol Buffers service definitions: a `service X {` block in a .proto file means the service
 * speaks gRPC, whatever its implementation language. Contributes a framework, never a language.
 */
import type { Framework } from '../schema.js';
import type { DetectorInput, DetectorResult, StackDetector } from './detector.js';
import { addFramework, groupFiles, lineAt } from './detector.js';

/** Shared proto trees can hold hundreds of files; a handful settles the question. */
const MAX_PROTO_FILES = 20;
const SERVICE = /^[ \t]*service\s+\w+\s*\{/m;

function detect(input: DetectorInput): DetectorResult | undefined {
  const protos = groupFiles(input, (name) => (name.endsWith('.proto') ? 'proto' : undefined)).get(
    'proto',
  );
  if (!protos) return undefined;
  const frameworks: Framework[] = [];
  for (const file of protos.slice(0, MAX_PROTO_FILES)) {
    const text = input.tree.read(file.path);
    const service = text === undefined ? null : SERVICE.exec(text);
    if (text === undefined || !service) continue;
    addFramework(
      frameworks,
      { name: 'grpc', kind: 'grpc' },
      undefined,
      `${file.path}:${lineAt(text, service.index)}`,
    );
    return { otherLanguages: [], frameworks, evidence: [file.path], sourceFiles: 0 };
  }
  return undefined;
}

export const protoDetector: StackDetector = { id: 'proto', detect };
