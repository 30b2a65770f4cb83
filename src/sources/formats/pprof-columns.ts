/**
 * Growable typed arrays for the pprof decoder: a profile's size is known only once it has been
 * read, and millions of values must not become millions of objects.
 */

/**
 * A typed array that doubles when full; capacity never written stays untouched memory. One class
 * per element type (columnOf), so each push site sees one array kind and V8 keeps it monomorphic.
 */
function columnOf<T extends Float64Array | Uint32Array>(ArrayType: new (n: number) => T) {
  return class Column {
    length = 0
    data: T
    constructor(capacity = 1024) {
      this.data = new ArrayType(capacity)
    }
    push(value: number): void {
      if (this.length === this.data.length) this.data = grow(this.data, this.length + 1)
      this.data[this.length++] = value
    }
    trimmed(): T {
      return this.data.subarray(0, this.length) as T
    }
  }
}
export const F64Column = columnOf(Float64Array)
export const U32Column = columnOf(Uint32Array)
export type F64Column = InstanceType<typeof F64Column>
export type U32Column = InstanceType<typeof U32Column>

export function grow<T extends Float64Array | Uint32Array>(array: T, needed: number): T {
  if (needed <= array.length) return array
  const next = new (array.constructor as new (n: number) => T)(Math.max(needed, array.length * 2))
  next.set(array)
  return next
}

export const f64 = (n?: number) => new F64Column(n)
export const u32 = (n?: number) => new U32Column(n)
