export { HttpFailure, requestJson, type JsonReply } from './request-json';
