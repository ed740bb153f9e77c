// Deterministic memory release, in the spirit of tf.tidy: every tensor created
// inside scope(fn) is freed when fn returns, except the tensors fn returns (which
// move to the enclosing scope) and those passed to keep(). Outside any scope a
// tensor lives until dispose() or, as a fallback, garbage collection — whose
// native finalizers Node runs only when the event loop turns, so a synchronous
// loop must free its tensors with scope() or dispose().

export interface Disposable {
  dispose(): void;
  /** Called when the disposable leaves the outermost scope: from then on garbage collection may free it. */
  adopted?(): void;
}

const stack: Set<Disposable>[] = [];

/** Told when the first scope opens (true) and the last one closes (false). */
let onScoped: ((scoped: boolean) => void) | null = null;
export function setScopeListener(listener: (scoped: boolean) => void): void {
  onScoped = listener;
}

/** Record a new tensor in the innermost open scope. */
export function track<T extends Disposable>(t: T): T {
  stack[stack.length - 1]?.add(t);
  return t;
}

/** Exempt a tensor from every open scope's release; it lives until disposed (or, unreachable, collected). */
export function keep<T extends Disposable>(t: T): T {
  for (const s of stack) s.delete(t);
  t.adopted?.();
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
  if (stack.length === 1) onScoped?.(true);
  let result: R;
  try {
    result = fn();
  } catch (e) {
    stack.pop();
    if (stack.length === 0) onScoped?.(false);
    for (const t of owned) t.dispose();
    throw e;
  }
  stack.pop();
  if (stack.length === 0) onScoped?.(false);
  const returned = new Set<Disposable>();
  collect(result, owned, returned, new Set());
  for (const t of owned) if (!returned.has(t)) t.dispose();
  const parent = stack[stack.length - 1];
  if (parent) for (const t of returned) parent.add(t);
  else for (const t of returned) t.adopted?.();
  return result;
}
