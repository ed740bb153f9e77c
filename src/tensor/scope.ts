// Deterministic memory release, in the spirit of tf.tidy: every tensor created
// inside scope(fn) is freed when fn returns, except the tensors fn returns (which
// move to the enclosing scope) and those passed to keep(). Outside any scope a
// tensor lives until dispose() or, as a fallback, garbage collection — whose
// native finalizers Node runs only when the event loop turns, so a synchronous
// loop must free its tensors with scope() or dispose().

export interface Disposable {
  dispose(): void;
}

const stack: Set<Disposable>[] = [];

/** Record a new tensor in the innermost open scope. */
export function track<T extends Disposable>(t: T): T {
  stack[stack.length - 1]?.add(t);
  return t;
}

/** Exempt a tensor from the innermost scope's release; it lives until disposed. */
export function keep<T extends Disposable>(t: T): T {
  for (const s of stack) s.delete(t);
  return t;
}

function collect(value: unknown, owned: Set<Disposable>, out: Set<Disposable>, seen: Set<object>): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (owned.has(value as Disposable)) {
    out.add(value as Disposable);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collect(v, owned, out, seen);
  else if (value instanceof Map) for (const v of value.values()) collect(v, owned, out, seen);
  else if (Object.getPrototypeOf(value) === Object.prototype)
    for (const v of Object.values(value)) collect(v, owned, out, seen);
}

/** Run fn; free the tensors it created, except those reachable from its result. */
export function scope<R>(fn: () => R): R {
  const owned = new Set<Disposable>();
  stack.push(owned);
  let result: R;
  try {
    result = fn();
  } catch (e) {
    stack.pop();
    for (const t of owned) t.dispose();
    throw e;
  }
  stack.pop();
  const returned = new Set<Disposable>();
  collect(result, owned, returned, new Set());
  for (const t of owned) if (!returned.has(t)) t.dispose();
  const parent = stack[stack.length - 1];
  if (parent) for (const t of returned) parent.add(t);
  return result;
}
