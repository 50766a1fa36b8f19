export { checkedBaseUrl } from './base-url';
export { requestJson, type JsonReply, type ReplyHeaders, type RequestJsonInit } from './request-json';
