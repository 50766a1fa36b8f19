export { checkedBaseUrl } from './base-url';
export { HttpFailure, requestJson, type JsonReply } from './request-json';
