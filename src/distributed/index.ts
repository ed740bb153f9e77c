// Process-per-agent runtime over Gloo (torch.distributed's engine).
export { DistError } from '../errors.js';
export { Store, StoreServer, parseStoreAddress, formatStoreAddress, loopback, type StoreAddress } from './store.js';
export { resolveToken, proof } from './auth.js';
export { handshake, canonicalJson, differences, joinRecord, type JoinRecord } from './handshake.js';
export { ProcessGroup, defaultTimeoutMs, type JoinOptions, type Device, type CommStats } from './group.js';
export { blockPlacement, hostedAgents } from './placement.js';
export { gatherAgents, allgatherJson } from './gather.js';
export { NeighborMixer, exchangePlan, type ExchangePlan } from './mixer.js';
