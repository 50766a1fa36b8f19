export { checkedBaseUrl } from './base-url';
export { requestJson, type JsonReply, type RequestJsonInit } from './request-json';
