// Serving: the Policy interface, the openpi websocket server and client, the chunk broker, replay.
// rtc.ts, model-policy.ts, model-adapter.ts and checkpoint.ts are imported directly: they load the compute engine,
// which a client does not need.
export * from "./policy.ts";
export { type ConnectOptions, type RemotePolicy, RemotePolicyError, connectPolicy } from "./client.ts";
export { ActionChunkBroker, type BrokerOptions, type BrokerStats, type MergeMode } from "./broker.ts";
export { PolicyServer, type ServerOptions, type ServerStats } from "./server.ts";
export { type ReplayEpisode, type ReplayOptions, replayFromDataset, replayPolicy } from "./replay.ts";
export { INPUT_FORMATS, type InputFormat, observationToWire, parseObservation } from "./protocol.ts";
export { type NdArray, type WireMap, type WireValue, ProtocolError, decodeMsgpackNumpy, encodeMsgpackNumpy, ndarray } from "./msgpack-numpy.ts";
