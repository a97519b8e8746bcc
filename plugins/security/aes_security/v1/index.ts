/**
 * Protocol version 1 (MCollective 2.x `aes_security`) as a library: codecs for requests and replies in YAML and
 * Marshal, the Ruby value model, MCollective's RPC bodies. docs/protocol.md section 8 is the contract.
 */
export {
  looksLikeV1, serializeV1, deserializeV1, encodeV1Request, decodeV1Request, encodeV1Reply, decodeV1Reply,
  type V1Serializer, type V1RequestFields, type EncodeV1RequestOptions, type DecodeV1RequestOptions, type V1DecodedRequest,
  type V1ReplyFields, type EncodeV1ReplyOptions, type DecodeV1ReplyOptions, type V1DecodedReply,
} from './codec.js';
export { type V1Filter, type V1FactFilter } from './fields.js';
export { DEFAULT_V1_LIMITS, type V1Limits } from './limits.js';
export { DISCOVERY_PING, DISCOVERY_PONG, rpcRequestBody, rpcReplyBody, parseRpcRequest, parseRpcReply, type V1RpcRequest, type V1RpcReply } from './rpc-body.js';
export { RubyHash, RubySymbol, sym, isSymbol, symHash, strHash, toPlain, fromPlain, inspect, rubyEqual, type RubyValue, type RubyKey } from './ruby-values.js';
