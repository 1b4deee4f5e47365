#!/usr/bin/env node
// Plays one call story against a generated VoxEngine scenario, with VoxEngine's objects
// mocked after Voximplant's own typings and reference, and prints what the scenario did as
// JSON: the platform calls it made, the events it posted (sent for real over HTTP to the
// scenario's webhook URL unless --webhook-status is given) and what it logged.
//
//   node simulate.js --scenario FILE --story NAME --secret-webhook S --secret-elevenlabs K
//                    [--hmac base64] [--webhook-status 500] [--session-id N]
//
// Stories: answered, interrupted, agent-hangs-up, key-refused, webhook-500.
//
// Sources for the mocked shapes (voximplant/voxengine-ci `typings/voxengine.d.ts`, Nov 2025,
// and the VoxEngine reference at voximplant.com/docs/references/voxengine):
// - `VoxEngine.addEventListener`, `AppEvents.Started` (with `sessionID`), `AppEvents.CallAlerting`
//   (with `call`), `VoxEngine.sendMediaBetween`, `VoxEngine.terminate`.
// - `VoxEngine.getSecretValue(name)`: synchronous, `undefined` when the secret is missing
//   (voximplant.com/docs/references/voxengine/voxengine/getsecretvalue).
// - `Call`: `answer`, `hangup`, `callerid`, `number`, `record`, `addEventListener`;
//   `CallEvents.Connected`, `Disconnected`, `Failed`, `RecordStarted` (with `url`).
// - `Net.httpRequestAsync(url, {method, headers: {name: value}, postData, timeout})` resolves with
//   `{code, text, headers: [{key, value}]}` whatever the HTTP status; code <= 0 is a transport
//   error (HttpRequestResult). A headers value that is not an object is ignored here, as a
//   runtime following the current typings would do.
// - `Crypto.hmac_sha256(key, data)` returns a string; its encoding is not documented, so the
//   story can be run with hex (default) or base64 output.
// - `ElevenLabs.createAgentsClient({xiApiKey, agentId, onWebSocketClose, ...})` returns a Promise
//   of an AgentsClient (`addEventListener`, `clearMediaBuffer`, `conversationInitiationClientData`,
//   `close`); `ElevenLabs.AgentsEvents.ConversationInitiationMetadata`, `Interruption`,
//   `WebSocketError`, each event `{client, data}`.
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const http = require("http");
const vm = require("vm");

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
const story = args.story;
const trace = { calls: [], posts: [], logs: [], agentParameters: null };
const pending = [];

// A clock the story moves: the scenario measures durations with Date.now().
let clock = Date.now();
class VirtualDate extends Date {
  constructor(...a) { super(...(a.length ? a : [clock])); }
  static now() { return clock; }
}

function note(name, detail) { trace.calls.push(detail === undefined ? name : { [name]: detail }); }

function listeners() {
  const map = {};
  return {
    addEventListener(event, handler) { (map[event] = map[event] || []).push(handler); },
    removeEventListener() {},
    async emit(event, payload) { for (const handler of map[event] || []) await handler(payload); },
  };
}

const engine = listeners();
const call = Object.assign(listeners(), {
  answer() { note("answer"); setImmediate(() => pending.push(call.emit("Call.Connected", { call }))); },
  hangup() { note("hangup"); },
  callerid() { return "+79991234567"; },
  number() { return "+74951234567"; },
  record(parameters) {
    note("record", parameters);
    setImmediate(() => call.emit("Call.RecordStarted", { url: "https://storage.example/records/" + (args["session-id"] || 1) + ".mp3" }));
  },
});

let agent = null;
const secrets = { VOXFCGI_WEBHOOK_SECRET: args["secret-webhook"], VOXFCGI_ELEVENLABS_API_KEY: args["secret-elevenlabs"] };

const inFlight = new Set();

function post(url, options) {
  const request = send(url, options);
  inFlight.add(request);
  request.finally(() => inFlight.delete(request));
  return request;
}

function send(url, options) {
  const headers = options.headers && typeof options.headers === "object" && !Array.isArray(options.headers) ? options.headers : {};
  const record = { url, headers: options.headers, body: options.postData };
  trace.posts.push(record);
  if (args["webhook-status"]) {
    record.code = Number(args["webhook-status"]);
    return Promise.resolve({ code: record.code, text: "Internal Server Error", headers: [] });
  }
  return new Promise((resolve) => {
    const request = http.request(url, { method: options.method || "GET", headers }, (response) => {
      let text = "";
      response.on("data", (chunk) => (text += chunk));
      response.on("end", () => {
        record.code = response.statusCode;
        resolve({ code: response.statusCode, text, headers: Object.entries(response.headers).map(([key, value]) => ({ key, value })) });
      });
    });
    request.on("error", () => { record.code = -4; resolve({ code: -4, error: "connection error" }); });
    request.end(options.postData || "");
  });
}

const AgentsEvents = {
  ConversationInitiationMetadata: "ElevenLabs.Agents.ConversationInitiationMetadata",
  Interruption: "ElevenLabs.Agents.Interruption",
  WebSocketError: "ElevenLabs.Agents.WebSocketError",
  UserTranscript: "ElevenLabs.Agents.UserTranscript",
  AgentResponse: "ElevenLabs.Agents.AgentResponse",
};

const sandbox = {
  require() {},
  Modules: { ElevenLabs: "ElevenLabs" },
  Date: VirtualDate,
  JSON, Math, String, Number, Object, Promise, Error, setTimeout, console,
  AppEvents: { Started: "Application.Started", CallAlerting: "Application.CallAlerting" },
  CallEvents: { Connected: "Call.Connected", Disconnected: "Call.Disconnected", Failed: "Call.Failed", RecordStarted: "Call.RecordStarted" },
  VoxEngine: {
    addEventListener: engine.addEventListener,
    terminate() { note("terminate"); },
    sendMediaBetween(a, b) { note("sendMediaBetween", [a === call ? "call" : "?", b === agent ? "agent" : "?"]); },
    getSecretValue(name) { return secrets[name]; },
  },
  Net: { httpRequestAsync: post },
  Crypto: {
    hmac_sha256(key, data) {
      return crypto.createHmac("sha256", key).update(data).digest(args.hmac === "base64" ? "base64" : "hex");
    },
  },
  Logger: { write(text) { trace.logs.push(String(text)); } },
  ElevenLabs: {
    AgentsEvents,
    createAgentsClient(parameters) {
      trace.agentParameters = Object.assign({}, parameters, { onWebSocketClose: typeof parameters.onWebSocketClose });
      note("createAgentsClient");
      if (story === "key-refused") return Promise.reject(new Error("ElevenLabs: 401 invalid_api_key"));
      agent = Object.assign(listeners(), {
        onWebSocketClose: parameters.onWebSocketClose,
        clearMediaBuffer() { note("clearMediaBuffer"); },
        conversationInitiationClientData(data) { note("conversationInitiationClientData", data); },
        close() { note("close"); },
      });
      return Promise.resolve(agent);
    },
  },
};

// Until the scenario has nothing left to do: no handler running, no request in flight.
async function settle() {
  for (let idle = 0; idle < 20;) {
    await new Promise((resolve) => setImmediate(resolve));
    if (pending.length) { await pending.shift(); idle = 0; continue; }
    if (inFlight.size) { await Promise.allSettled([...inFlight]); idle = 0; continue; }
    idle++;
  }
}

async function main() {
  vm.runInNewContext(fs.readFileSync(args.scenario, "utf8"), sandbox, { filename: "scenario.js" });
  await engine.emit("Application.Started", { sessionID: Number(args["session-id"] || 1) });
  await engine.emit("Application.CallAlerting", { call });
  await settle();
  if (agent) {
    await agent.emit(AgentsEvents.ConversationInitiationMetadata, { client: agent,
      data: { conversation_initiation_metadata_event: { conversation_id: "conv_" + (args["session-id"] || 1) } } });
    await settle();
  }
  clock += 42_000;  // the conversation
  if (story === "interrupted" && agent) await agent.emit(AgentsEvents.Interruption, { client: agent, data: {} });
  if (story === "agent-hangs-up" && agent) {
    await agent.onWebSocketClose({ code: 1000, reason: "conversation ended" });
  } else if (story !== "key-refused") {
    await call.emit("Call.Disconnected", { call, reason: "hangup" });
  }
  await settle();
  process.stdout.write(JSON.stringify(trace, null, 1) + "\n");
}

main().catch((error) => { process.stderr.write(String(error && error.stack || error) + "\n"); process.exit(1); });
