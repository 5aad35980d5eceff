import {
  bytesFromJvmSize,
  bytesFromMemoryQuantity,
  cpuQuantityFromMillicores,
  memoryQuantityFromBytes,
  millicores,
  bytes,
  millicoresFromCpuQuantity,
} from '../../src/units.js';

describe('units', () => {
  it.each([
    ['250m', 250],
    ['1', 1000],
    ['1.5', 1500],
    [0.5, 500],
    ['2k', 2_000_000],
  ])('millicoresFromCpuQuantity(%p) = %p', (q, expected) => {
    expect(millicoresFromCpuQuantity(q)).toBe(expected);
  });

  it.each([
    ['512Mi', 512 * 2 ** 20],
    ['1Gi', 2 ** 30],
    ['1G', 1e9],
    ['128974848', 128974848],
    ['129e6', 129e6],
    ['100Ki', 102400],
  ])('bytesFromMemoryQuantity(%p) = %p', (q, expected) => {
    expect(bytesFromMemoryQuantity(q)).toBe(expected);
  });

  it.each(['', 'abc', '1.2.3', '10 Mi', '-5'])('rejects %p', (q) => {
    expect(bytesFromMemoryQuantity(q)).toBeUndefined();
  });

  it.each([
    ['512m', 512 * 2 ** 20],
    ['2g', 2 * 2 ** 30],
    ['2G', 2 * 2 ** 30],
    ['1048576', 1048576],
    ['64k', 65536],
  ])('bytesFromJvmSize(%p) = %p', (q, expected) => {
    expect(bytesFromJvmSize(q)).toBe(expected);
  });

  it('renders canonical quantities', () => {
    expect(cpuQuantityFromMillicores(millicores(2000))).toBe('2');
    expect(cpuQuantityFromMillicores(millicores(250))).toBe('250m');
    expect(memoryQuantityFromBytes(bytes(2 ** 30))).toBe('1Gi');
    expect(memoryQuantityFromBytes(bytes(768 * 2 ** 20))).toBe('768Mi');
  });
});
