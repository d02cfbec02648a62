interface Batch<K, V> {
  keys: Set<K>;
  result: Promise<V>;
}

/**
 * Shares one load among the callers of one turn of the event loop: the keys asked for during the
 * turn, per scope (a database handle, say), are loaded together as soon as it ends, and every
 * caller gets the batch's result. A caller still gets values loaded after it asked. The load
 * passed by the turn's first caller runs; the others' are the same function over the same scope.
 */
export function batchPerTurn<K, V>() {
  const collecting = new WeakMap<object, Batch<K, V>>();
  return (scope: object, keys: Iterable<K>, load: (keys: K[]) => Promise<V>): Promise<V> => {
    let batch = collecting.get(scope);
    if (!batch) {
      const collected = new Set<K>();
      const result = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        collecting.delete(scope);
        return load([...collected]);
      });
      batch = { keys: collected, result };
      collecting.set(scope, batch);
    }
    for (const key of keys) batch.keys.add(key);
    return batch.result;
  };
}
