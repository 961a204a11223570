// Changes to a running data plane (swaps, applies, scaling) happen one at a
// time: each waits for the one before it, whether that succeeded or not.
export type Serially = <T>(change: () => Promise<T>) => Promise<T>;

export function serializer(): Serially {
  let last: Promise<unknown> = Promise.resolve();
  return <T>(change: () => Promise<T>): Promise<T> => {
    const next = last.then(change);
    last = next.catch(() => undefined);
    return next;
  };
}
