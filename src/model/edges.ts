/** A thing read at the start and the end of the window; `first` is absent when only one read worked. */
export interface Edges<T> {
  first?: T
  last: T
  /** Where the last one was read. */
  source: string
}
