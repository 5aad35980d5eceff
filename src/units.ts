/**
 * Units live in types. CPU is counted in millicores and memory in bytes everywhere inside the
 * product; strings such as "250m" or "512Mi" exist only at the edges (manifests, reports).
 */

/** Thousandths of a CPU core, as Kubernetes counts them ("250m" = 250). */
export type Millicores = number & { readonly __unit: 'millicores' };
/** A size in bytes. */
export type Bytes = number & { readonly __unit: 'bytes' };

export function millicores(n: number): Millicores {
  return n as Millicores;
}

export function bytes(n: number): Bytes {
  return n as Bytes;
}

const BINARY_SUFFIX: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const DECIMAL_SUFFIX: Record<string, number> = {
  m: 1e-3,
  '': 1,
  k: 1e3,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

const QUANTITY =
  /^(?<num>[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)(?<suffix>[KMGTPE]i|[mkKMGTPE])?$/;

/**
 * Parses a Kubernetes resource quantity ("1.5", "250m", "512Mi", "1G", "1e3") into a plain number of
 * base units. Returns undefined for anything that is not a quantity, so callers decide what a bad
 * value means for them.
 */
export function numberFromQuantity(quantity: string | number): number | undefined {
  if (typeof quantity === 'number') return Number.isFinite(quantity) ? quantity : undefined;
  const match = QUANTITY.exec(quantity.trim());
  if (!match?.groups) return undefined;
  const num = Number(match.groups.num);
  const suffix = match.groups.suffix ?? '';
  const factor = BINARY_SUFFIX[suffix] ?? DECIMAL_SUFFIX[suffix];
  if (factor === undefined || !Number.isFinite(num)) return undefined;
  return num * factor;
}

/** "250m" → 250, "2" → 2000, 0.5 → 500. */
export function millicoresFromCpuQuantity(quantity: string | number): Millicores | undefined {
  const cores = numberFromQuantity(quantity);
  return cores === undefined || cores < 0 ? undefined : millicores(Math.round(cores * 1000));
}

/** "512Mi" → 536870912, "1G" → 1e9. */
export function bytesFromMemoryQuantity(quantity: string | number): Bytes | undefined {
  const n = numberFromQuantity(quantity);
  return n === undefined || n < 0 ? undefined : bytes(Math.round(n));
}

/** JVM-style sizes as in -Xmx512m, -Xmx2g, -Xmx1024k, -Xmx1048576 (plain bytes). */
export function bytesFromJvmSize(size: string): Bytes | undefined {
  const match = /^(?<num>\d+)(?<unit>[kKmMgGtT]?)$/.exec(size.trim());
  if (!match?.groups) return undefined;
  const power = { '': 0, k: 1, m: 2, g: 3, t: 4 }[match.groups.unit!.toLowerCase()] ?? 0;
  return bytes(Number(match.groups.num) * 1024 ** power);
}

export function bytesFromMebibytes(mib: number): Bytes {
  return bytes(Math.round(mib * 2 ** 20));
}

export function mebibytesFromBytes(b: Bytes): number {
  return b / 2 ** 20;
}

/** Canonical CPU string: whole cores as "2", otherwise millicores as "250m". */
export function cpuQuantityFromMillicores(m: Millicores): string {
  return m % 1000 === 0 ? String(m / 1000) : `${Math.round(m)}m`;
}

/** Canonical memory string in the largest binary unit that keeps it whole ("1Gi", "768Mi"). */
export function memoryQuantityFromBytes(b: Bytes): string {
  for (const suffix of ['Ti', 'Gi', 'Mi', 'Ki'] as const) {
    const factor = BINARY_SUFFIX[suffix]!;
    if (b >= factor && b % factor === 0) return `${b / factor}${suffix}`;
  }
  if (b >= 2 ** 20) return `${Math.ceil(b / 2 ** 20)}Mi`;
  return String(Math.round(b));
}
