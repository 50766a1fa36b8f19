export { listenOnLoopback, type LoopbackServer } from './listen';
