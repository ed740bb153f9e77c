// One rank of a test group, run as its own process by the dist*.test.ts files:
//   node dist/test/support/dist-worker.js <scenario> <json options>
// It prints one JSON line of results on stdout; a failure goes to stderr with
// exit code 1. Run bare (as node --test does with every file under test/), it does nothing.
interface Options {
  rank: number;
  worldSize: number;
  host: string;
  port: number;
  serve?: boolean;
  timeoutMs?: number;
  K?: number;
  steps?: number;
  matrix?: 'ring' | 'directed' | 'average';
  /** Also check gatherAgents and allgatherJson after mixing (default true). */
  gather?: boolean;
}

async function main(): Promise<void> {
  const [scenario, json] = process.argv.slice(2);
  if (scenario === undefined) return;
  const o = JSON.parse(json) as Options;
  const dist = await import('../../src/distributed/index.js');
  const t = await import('../../src/tensor/index.js');
  const group = dist.ProcessGroup.join({
    rank: o.rank,
    worldSize: o.worldSize,
    store: { host: o.host, port: o.port },
    token: dist.resolveToken(undefined),
    timeoutMs: o.timeoutMs,
    serve: o.serve,
    onListening: (a) => console.log(JSON.stringify({ listening: a.port })),
  });
  const { rank, worldSize: N } = group;
  const out: Record<string, unknown> = { rank };

  if (scenario === 'collectives') {
    const x = t.tensor([rank + 1, 10 * (rank + 1), -rank], 'float64');
    out.allreduce = group.allreduce(x.clone()).toNumbers();
    out.allgather = group.allgather(t.tensor([rank, rank * rank], 'float32')).map((g) => g.toNumbers());
    const b = rank === N - 1 ? t.tensor([7, 8, 9], 'float32') : t.zeros([3]);
    out.broadcast = group.broadcast(b, N - 1).toNumbers();
    // A ring of point-to-point messages, even ranks sending first so blocking calls pair up.
    const next = (rank + 1) % N,
      prev = (rank + N - 1) % N;
    const got = t.zeros([2], 'int64');
    const mine = t.tensor([rank, 100 + rank], 'int64');
    if (rank % 2 === 0) {
      group.send(mine, next, 3);
      group.recv(got, prev, 3);
    } else {
      group.recv(got, prev, 3);
      group.send(mine, next, 3);
    }
    out.ring = got.toNumbers();
    group.barrier();
  } else if (scenario === 'steps') {
    // Allreduce once per step until told to stop (by a peer's death, in the fault tests).
    console.log(JSON.stringify({ joined: rank }));
    for (let s = 0; s < (o.steps ?? 1e9); s++) {
      t.scope(() => group.allreduce(t.ones([1000])));
    }
    group.barrier();
  } else if (scenario === 'mix') {
    const { localMixer } = await import('../../src/algorithms/recursion.js');
    const K = o.K ?? 6;
    const A = matrix(t, o.matrix ?? 'ring', K);
    const owner = dist.blockPlacement(K, N);
    const mixer = new dist.NeighborMixer(group, owner);
    const hostedIdx = t.fromArray(Int32Array.from(mixer.hosted));
    const W = [t.randn([K, 3, 2], new t.Generator(11), 'float64'), t.randn([K, 5], new t.Generator(12), 'float64')];
    const expected = localMixer.mix(A, W).map((p) => p.indexSelect(0, hostedIdx));
    const got = mixer.mix(
      A,
      W.map((p) => p.indexSelect(0, hostedIdx)),
    );
    out.maxDiff = Math.max(...got.map((g, i) => g.sub(expected[i]).abs().amax().item()));
    out.bytes = mixer.lastBytesSent;
    if (o.gather !== false) {
      // Evaluation's and checkpoints' view: every agent's rows, and any JSON state, on every rank.
      const gathered = dist.gatherAgents(group, owner, got);
      const all = localMixer.mix(A, W);
      out.gatherDiff = Math.max(...gathered.map((g, i) => g.sub(all[i]).abs().amax().item()));
      out.json = dist.allgatherJson(group, { rank, hosted: mixer.hosted });
    }
    group.barrier();
  }
  console.log(JSON.stringify(out));
  group.close();
}

type TensorModule = typeof import('../../src/tensor/index.js');

// Combination matrices (a_{lk}: weight agent k gives agent l; columns sum to one).
function matrix(t: TensorModule, kind: 'ring' | 'directed' | 'average', K: number) {
  const a = new Float64Array(K * K);
  for (let k = 0; k < K; k++) {
    if (kind === 'average') for (let l = 0; l < K; l++) a[l * K + k] = 1 / K;
    else if (kind === 'ring') for (const l of [k, (k + 1) % K, (k + K - 1) % K]) a[l * K + k] = 1 / 3;
    else {
      // Left-stochastic, not symmetric: agent k listens to itself and the next agent only.
      a[k * K + k] = 0.7;
      a[((k + 1) % K) * K + k] = 0.3;
    }
  }
  return t.fromArray(a, [K, K]);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
  process.exit(1);
});
