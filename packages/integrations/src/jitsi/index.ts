export * from './types';
export { createJitsiProbe, isLoopback, type JitsiProbeOptions } from './probe';
export { startJitsiStandIn, type JitsiStandIn, type JitsiStandInOptions } from './stand-in';
export { addressAllowed, type OutboundPolicy } from './outbound';
export { CONNECTION_TEST_ROOM, mintConnectionTestToken, signJitsiToken, verifyJitsiToken, type ConnectionTestTokenInput } from './token';
