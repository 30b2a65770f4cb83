// Tests start scenarios through the same launcher that `demo --live` uses.
export * from '../../src/demo/memsick.ts'
