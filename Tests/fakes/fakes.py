"""Fake Voximplant and ElevenLabs APIs for tests: real HTTP on loopback, the documented JSON
shapes (shared/reference/voximplant-api.md, elevenlabs-api.md), real paging, and faults on
demand. Nothing here talks to the real services.

    python3 Tests/fakes/fakes.py [--voximplant-port P] [--elevenlabs-port Q] [--sessions N] [--record-every K]

Every K-th answered call in the history has a recording (K=1: all of them).

Prints one line `ready voximplant=<port> elevenlabs=<port>` once both listen.

Recordings (fake Voximplant's storage; call history gives absolute URLs to them):
    GET /records/<n>.mp3           MP3 (silence), what call history links to: VoxEngine records MP3
    GET /records/<n>.wav           a real, playable WAV (8 kHz mono, a tone), a few seconds long
    GET /records/big-<bytes>.wav   <bytes> bytes (a WAV header, then deterministic noise),
                                   streamed; for the large-upload tests
    GET /records/missing-<n>.wav   404, as for a recording Voximplant has deleted

Control endpoints (on either server):
    POST /_control/fault  {"match": "GetAccountInfo", "mode": "500", "times": 2}
         modes: 401, 404, 500, 429, 429-retry-after, slow, malformed, truncated
    POST /_control/latency {"seconds": 0.3}   every API answer waits this long first
    GET  /_control/log    what was asked of the fake (deployment calls, in order)
    GET  /_control/history-requests   every GetCallHistory page asked for (offset, count, from_date)
    GET  /_control/secrets            the application secrets deployed (names and values)
    POST /_control/reset
"""

import argparse
import base64
import json
import math
import random
import re
import struct
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

VOX_ACCOUNT_ID = "1234567"
VOX_API_KEY = "vox-test-api-key-0000-1111"
EL_API_KEY = "el-test-api-key-2222-3333"


def default_epoch():
    """Where the fake call history starts unless told (`--epoch`): a week ago, to the minute.
    Relative to now, because the worker's first sync backfills a window that ends now
    (VOXFCGI_BACKFILL_DAYS): a fixed date drifts out of it as the calendar moves on."""
    return (datetime.now(timezone.utc) - timedelta(days=7)).replace(second=0, microsecond=0)


class State:
    def __init__(self, sessions: int, record_every: int = 1, epoch: datetime = None, spacing: float = 37):
        epoch = epoch or default_epoch()
        self.lock = threading.Lock()
        self.faults = []
        self.log = []
        self.latency = 0.0
        self.applications = [{"application_id": 501, "application_name": "existing.app.voximplant.com"}]
        self.numbers = [
            {"phone_id": 9001, "phone_number": "74951234567", "phone_country_code": "RU"},
            {"phone_id": 9002, "phone_number": "12025550143", "phone_country_code": "US"},
        ]
        self.scenarios = []
        self.rules = []
        self.next_id = 1000
        rng = random.Random(42)
        self.sessions = []
        for i in range(sessions):
            # `spacing` below one second puts several sessions in the same second, as on a busy
            # account: paging by time must then not lose or repeat any at a page's edge.
            start = epoch + timedelta(seconds=math.floor(i * spacing))
            ok = rng.random() < 0.75
            duration = rng.randint(20, 400) if ok else 0
            # The whole JS session runs a few seconds longer than the call leg: `duration` is
            # the "Entire JS session duration", calls[].duration the leg's (apiclient-nodejs
            # src/Structures.ts CallSessionInfoType, CallInfoType).
            session_duration = duration + 3
            call_id = 900_000_000 + i
            has_record = ok and i % record_every == 0
            self.sessions.append({
                "call_session_history_id": 800_000_000 + i,
                "account_id": int(VOX_ACCOUNT_ID), "application_id": 501,
                "application_name": "existing.app.voximplant.com", "rule_name": "incoming",
                "start_date": start.strftime("%Y-%m-%d %H:%M:%S"), "duration": session_duration,
                "finish_reason": "Normal termination" if ok else "Busy",
                "custom_data": None, "log_file_url": "https://logs.example/" + str(i),
                "calls": [{
                    "call_id": call_id, "start_time": start.strftime("%Y-%m-%d %H:%M:%S"),
                    "duration": duration, "local_number": "74951234567",
                    "remote_number": "7999%07d" % rng.randint(0, 9_999_999), "remote_number_type": "pstn",
                    "incoming": True, "successful": ok, "cost": round(duration / 60 * 1.9, 4) if ok else 0,
                    "transaction_id": 600_000_000 + i,
                    # CallInfoType.end_reason is typed `any` ("End reason code and description",
                    # apiclient-nodejs src/Structures.ts); live payloads carry {code, details}.
                    "end_reason": {"code": 200 if ok else 486, "details": "OK" if ok else "Busy Here"},
                }],
                # RecordType: record_id, cost, duration, file_size, record_url (Structures.ts).
                # call.record() writes MP3 unless told otherwise (VoxEngine CallRecordParameters).
                "records": [{"record_id": 700_000 + i, "record_url": f"/records/{i}.mp3", "duration": duration,
                             "file_size": duration * 16000, "cost": round(duration / 60 * 0.1, 4),
                             "start_time": start.strftime("%Y-%m-%d %H:%M:%S"), "transaction_id": 610_000_000 + i}]
                if has_record else [],
                # ResourceUsageType: resource_usage_id, resource_type, cost, description, used_at,
                # transaction_id, resource_quantity, unit, ref_call_id (Structures.ts).
                "other_resource_usage": [{"resource_usage_id": 500_000 + i, "resource_type": "CALLSESSION",
                                          "cost": 0.02, "description": "JS session",
                                          "used_at": start.strftime("%Y-%m-%d %H:%M:%S"),
                                          "transaction_id": 620_000_000 + i, "resource_quantity": 1, "unit": "session",
                                          "ref_call_id": call_id}],
            })
        self.history_requests = []
        self.secrets = {}  # (application id, name) -> (secret id, value)
        self.agents = {"agent_support_1": "Support agent", "agent_sales_2": "Sales agent"}
        self.conversations = {}

    def new_id(self):
        with self.lock:
            self.next_id += 1
            return self.next_id

    def take_fault(self, name):
        with self.lock:
            for fault in self.faults:
                if fault["match"] in name and fault["times"] != 0:
                    fault["times"] -= 1
                    return fault["mode"]
        return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: State = None
    service = ""

    def log_message(self, *args):
        pass

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send(self, status, payload, headers=None, raw=None, content_type="application/json"):
        data = raw if raw is not None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def control(self, path):
        if path == "/_control/fault":
            fault = json.loads(self.body() or b"{}")
            fault.setdefault("times", 1)
            with self.state.lock:
                self.state.faults.append(fault)
            return self.send(200, {"ok": True})
        if path == "/_control/latency":
            self.state.latency = float(json.loads(self.body() or b"{}").get("seconds", 0))
            return self.send(200, {"ok": True})
        if path == "/_control/log":
            return self.send(200, self.state.log)
        if path == "/_control/history-requests":
            return self.send(200, self.state.history_requests)
        if path == "/_control/secrets":
            return self.send(200, [{"application_id": a, "secret_name": n, "secret_value": v}
                                   for (a, n), (_, v) in self.state.secrets.items()])
        if path == "/_control/reset":
            with self.state.lock:
                self.state.faults.clear()
                self.state.log.clear()
            return self.send(200, {"ok": True})
        return self.send(404, {"error": "no such control"})

    def apply_fault(self, name):
        """Returns True if a fault answered the request."""
        mode = self.state.take_fault(name)
        if mode is None:
            return False
        if mode == "500":
            self.send(500, {"detail": "internal error"})
        elif mode == "429":
            self.send(429, {"detail": {"code": "rate_limit_exceeded", "message": "Too many requests"}})
        elif mode == "429-retry-after":
            self.send(429, {"detail": {"code": "rate_limit_exceeded", "message": "slow down"}}, {"Retry-After": "1"})
        elif mode == "401":
            if self.service == "voximplant":
                self.send(200, {"error": {"code": 100, "msg": "Authorization failed"}})
            else:
                self.send(401, {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}})
        elif mode == "404":
            self.send(404, {"detail": {"status": "invalid_id", "message": "not found"}})
        elif mode == "slow":
            time.sleep(3)
            self.send(200, {"result": []})
        elif mode == "malformed":
            self.send(200, None, raw=b'{"result": [1, 2,')
        elif mode == "truncated":
            data = json.dumps({"result": [{"a": 1}] * 50}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
        return True


class VoximplantHandler(Handler):
    service = "voximplant"

    def do_GET(self):
        path = urlparse(self.path).path
        if path.startswith("/_control/"):
            return self.control(path)
        if path.startswith("/records/"):
            if self.apply_fault("records"):
                return
            return self.recording(path[len("/records/"):])
        return self.send(404, {"error": "unknown path"})

    def recording(self, name):
        if name.startswith("missing-"):
            return self.send(404, {"error": "record not found"})
        if name.startswith("big-"):
            size = int(name[4:].split(".")[0])
            self.send_response(200)
            self.send_header("Content-Type", "audio/wav")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            header = wav_header(max(0, size - 44))[:size]
            self.wfile.write(header)
            block = random.Random(size).randbytes(1 << 20)
            remaining = size - len(header)
            while remaining > 0:
                chunk = block[: min(remaining, len(block))]
                self.wfile.write(chunk)
                remaining -= len(chunk)
            return
        if name.endswith(".mp3"):
            return self.send(200, None, raw=SILENT_MP3, content_type="audio/mpeg")
        return self.send(200, None, raw=TONE, content_type="audio/wav")

    def do_POST(self):
        url = urlparse(self.path)
        if url.path.startswith("/_control/"):
            return self.control(url.path)
        params = {k: v[-1] for k, v in parse_qs(url.query).items()}
        params.update({k: v[-1] for k, v in parse_qs(self.body().decode()).items()})
        method = url.path.strip("/").split("/")[-1]
        if self.state.latency:
            time.sleep(self.state.latency)
        if self.apply_fault(method):
            return
        if params.get("account_id") != VOX_ACCOUNT_ID or params.get("api_key") != VOX_API_KEY:
            return self.send(200, {"error": {"code": 100, "msg": "Authorization failed"}})
        handler = getattr(self, "m_" + method, None)
        if handler is None:
            return self.send(200, {"error": {"code": 103, "msg": "Unknown command"}})
        return handler(params)

    def paged(self, items, params):
        offset, count = int(params.get("offset", 0)), min(int(params.get("count", 20)), 1000)
        page = items[offset: offset + count]
        return self.send(200, {"result": page, "count": len(page), "total_count": len(items)})

    def m_GetAccountInfo(self, params):
        self.send(200, {"result": {"account_id": int(VOX_ACCOUNT_ID), "account_name": "acme-voice",
                                   "account_email": "ops@acme.example", "balance": 1523.75, "currency": "RUB",
                                   "active": True, "frozen": False}, "api_address": "https://api.voximplant.com"})

    def m_GetApplications(self, params):
        self.paged(self.state.applications, params)

    def m_GetPhoneNumbers(self, params):
        self.paged(self.state.numbers, params)

    def m_GetScenarios(self, params):
        self.paged(self.state.scenarios, params)

    def m_GetRules(self, params):
        app = int(params.get("application_id", 0))
        self.paged([r for r in self.state.rules if r["application_id"] == app], params)

    def m_GetCallHistory(self, params):
        """GetCallHistory as apiclient-nodejs src/Interfaces.ts documents it: `count` "The
        maximum value is 1000", `offset` "The maximum value of 10000" (an error beyond: the
        code, 497 INVALID_RANGE from src/Enums.ts, is our pick; none is documented), sessions
        in ascending time unless `desc_order`, `with_calls`/`with_records`/`with_other_resources`
        switch the lists on, and `total_count` only unless `with_total_count=false`."""
        if "from_date" not in params or "to_date" not in params:
            return self.send(200, {"error": {"code": 101, "msg": "Invalid arguments: from_date and to_date are required"}})
        offset, count = int(params.get("offset", 0)), int(params.get("count", 20))
        if not 0 <= offset <= 10_000:
            return self.send(200, {"error": {"code": 497, "msg": "offset should be in range of 0..10000"}})
        if not 1 <= count <= 1000:
            return self.send(200, {"error": {"code": 497, "msg": "count should be in range of 1..1000"}})
        lo, hi = params["from_date"], params["to_date"]
        wanted = set(int(x) for x in params["call_session_history_id"].split(";")) if params.get("call_session_history_id") else None
        sessions = [s for s in self.state.sessions if lo <= s["start_date"] <= hi
                    and (wanted is None or s["call_session_history_id"] in wanted)]
        if params.get("desc_order") == "true":
            sessions.reverse()
        self.state.history_requests.append({"offset": offset, "count": count, "from_date": lo,
                                            "with_total_count": params.get("with_total_count")})
        page = []
        for s in sessions[offset: offset + count]:
            item = dict(s)
            if params.get("with_calls") != "true":
                item.pop("calls")
            if params.get("with_other_resources") != "true":
                item.pop("other_resource_usage")
            if params.get("with_records") != "true":
                item.pop("records")
            else:
                # Voximplant's record URLs are absolute: point them at this server.
                item["records"] = [dict(r, record_url=f"http://{self.headers['Host']}{r['record_url']}") for r in item["records"]]
            page.append(item)
        answer = {"result": page, "count": len(page), "timezone": params.get("timezone", "Etc/GMT")}
        if params.get("with_total_count") != "false":
            answer["total_count"] = len(sessions)
        self.send(200, answer)

    def m_GetSecrets(self, params):
        """Secrets per application (apiclient-nodejs 4.8.0 src/index.ts `Secrets`; docs
        voximplant.com/docs/guides/voxengine/secrets): the list carries names, never values."""
        app = int(params.get("application_id", 0))
        part = params.get("secret_name_part", "")
        items = [{"secret_id": sid, "secret_name": name, "created": "2026-01-01 00:00:00", "modified": "2026-01-01 00:00:00"}
                 for (a, name), (sid, _) in self.state.secrets.items() if a == app and part in name]
        self.send(200, {"result": items, "count": len(items), "total_count": len(items)})

    def m_AddSecret(self, params):
        """AddSecret: `secret_name` starts with a Latin letter, up to 64 letters, digits and
        underscores; `secret_value` up to 8192 characters; the result is an array of
        {secret_id} (apiclient-nodejs src/Interfaces.ts AddSecretRequest, AddSecretResult)."""
        app, name, value = int(params.get("application_id", 0)), params.get("secret_name", ""), params.get("secret_value", "")
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,63}", name) or len(value) > 8192:
            return self.send(200, {"error": {"code": 101, "msg": "Invalid arguments: secret_name or secret_value"}})
        if (app, name) in self.state.secrets:
            return self.send(200, {"error": {"code": 101, "msg": "The secret already exists"}})
        sid = self.state.new_id()
        self.state.secrets[(app, name)] = (sid, value)
        self.record({"method": "AddSecret", "application_id": app, "secret_name": name})
        self.send(200, {"result": [{"secret_id": sid}]})

    def m_SetSecretInfo(self, params):
        """SetSecretInfo by `secret_name` (or `secret_id`); returns 1 (src/Interfaces.ts)."""
        app, name = int(params.get("application_id", 0)), params.get("secret_name", "")
        if (app, name) not in self.state.secrets:
            return self.send(200, {"error": {"code": 101, "msg": "Invalid arguments: no such secret"}})
        sid, value = self.state.secrets[(app, name)]
        self.state.secrets[(app, name)] = (sid, params.get("secret_value", value))
        self.record({"method": "SetSecretInfo", "application_id": app, "secret_name": name})
        self.send(200, {"result": 1})

    def record(self, entry):
        with self.state.lock:
            self.state.log.append(entry)

    def m_AddScenario(self, params):
        sid = self.state.new_id()
        self.state.scenarios.append({"scenario_id": sid, "scenario_name": params["scenario_name"]})
        self.record({"method": "AddScenario", "scenario_name": params["scenario_name"],
                     "script_length": len(params.get("scenario_script", ""))})
        self.send(200, {"result": 1, "scenario_id": sid})

    def m_SetScenarioInfo(self, params):
        self.record({"method": "SetScenarioInfo", "scenario_id": int(params["scenario_id"])})
        self.send(200, {"result": 1})

    def m_AddApplication(self, params):
        aid = self.state.new_id()
        name = params["application_name"] + ".acme-voice.voximplant.com"
        self.state.applications.append({"application_id": aid, "application_name": name})
        self.record({"method": "AddApplication", "application_name": params["application_name"]})
        self.send(200, {"result": 1, "application_id": aid, "application_name": name})

    def m_AddRule(self, params):
        rid = self.state.new_id()
        self.state.rules.append({"rule_id": rid, "rule_name": params["rule_name"],
                                 "rule_pattern": params["rule_pattern"], "application_id": int(params["application_id"])})
        self.record({"method": "AddRule", "rule_name": params["rule_name"], "rule_pattern": params["rule_pattern"],
                     "application_id": int(params["application_id"]), "scenario_id": int(params["scenario_id"])})
        self.send(200, {"result": 1, "rule_id": rid})

    def m_BindPhoneNumberToApplication(self, params):
        self.record({"method": "BindPhoneNumberToApplication", "phone_number": params.get("phone_number"),
                     "application_id": int(params["application_id"]), "rule_id": int(params.get("rule_id", 0))})
        self.send(200, {"result": 1})


class ElevenLabsHandler(Handler):
    service = "elevenlabs"

    def do_POST(self):
        path = urlparse(self.path).path
        if path.startswith("/_control/"):
            return self.control(path)
        return self.send(404, {"detail": "Not Found"})

    def do_GET(self):
        url = urlparse(self.path)
        path = url.path
        if path.startswith("/_control/"):
            return self.control(path)
        if self.apply_fault(path):
            return
        if self.headers.get("xi-api-key") != EL_API_KEY:
            return self.send(401, {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}})
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        parts = path.strip("/").split("/")
        if parts[:3] == ["v1", "convai", "agents"] and len(parts) == 4:
            name = self.state.agents.get(parts[3])
            if name is None:
                return self.send(404, {"detail": {"status": "agent_not_found", "message": f"Agent {parts[3]} not found"}})
            return self.send(200, {"agent_id": parts[3], "name": name, "conversation_config": {},
                                   "metadata": {"created_at_unix_secs": 1714423232}, "tags": []})
        if parts[:3] == ["v1", "convai", "conversations"]:
            if len(parts) == 3:
                return self.list_conversations(query)
            conversation = self.conversation(parts[3])
            if conversation is None:
                return self.send(404, {"detail": {"status": "invalid_id", "message": "conversation not found"}})
            if len(parts) == 5 and parts[4] == "audio":
                return self.send(200, None, raw=b"ID3" + bytes(4000), content_type="audio/mpeg")
            return self.send(200, conversation)
        if parts[:2] == ["v1", "validation"]:
            return self.send(422, {"detail": [{"loc": ["query", "page_size"], "msg": "ensure this value is less than or equal to 100", "type": "value_error"}]})
        if parts[:2] == ["v1", "legacy-error"]:
            return self.send(400, {"detail": "plain string detail"})
        return self.send(404, {"detail": "Not Found"})

    def conversation(self, cid):
        """Any id `conv_<n>` exists; `conv_pending_<n>` stays processing."""
        if not cid.startswith("conv_"):
            return None
        status = "processing" if cid.startswith("conv_pending") else "done"
        return {
            "agent_id": "agent_support_1", "conversation_id": cid, "status": status,
            "transcript": [
                {"role": "agent", "message": "Hello, how can I help?", "time_in_call_secs": 0, "tool_calls": None},
                {"role": "user", "message": "Where is my order?", "time_in_call_secs": 4},
                {"role": "agent", "message": None, "time_in_call_secs": 6, "tool_calls": [{"tool_name": "lookup"}]},
                {"role": "agent", "message": "It arrives tomorrow.", "time_in_call_secs": 9},
            ],
            "metadata": {"start_time_unix_secs": 1790000000, "call_duration_secs": 12, "cost": 120,
                         "termination_reason": "", "new_field": {"x": 1}},
            "analysis": {"call_successful": "success", "transcript_summary": "Order status question."} if status == "done" else None,
            "conversation_initiation_client_data": {"dynamic_variables": {"vox_session_id": "800000001", "n": 5}},
            "has_audio": True, "has_user_audio": True, "has_response_audio": True,
        }

    def list_conversations(self, query):
        size = int(query.get("page_size", 30))
        if size > 100:
            return self.send(422, {"detail": [{"loc": ["query", "page_size"], "msg": "ensure this value is less than or equal to 100"}]})
        start = int(query.get("cursor", "0"))
        total = 250
        items = [{"agent_id": "agent_support_1", "conversation_id": f"conv_{i}", "start_time_unix_secs": 1790000000 - i * 60,
                  "call_duration_secs": 30, "message_count": 4, "status": "done", "call_successful": "success"}
                 for i in range(start, min(start + size, total))]
        more = start + size < total
        self.send(200, {"conversations": items, "has_more": more, "next_cursor": str(start + size) if more else None})


def wav_header(data_bytes, rate=8000):
    """A PCM WAV header: mono, 16-bit, `rate` Hz, for `data_bytes` of samples."""
    return (b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVEfmt " +
            struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16) + b"data" + struct.pack("<I", data_bytes))


def tone_wav(seconds, rate=8000, hz=440):
    samples = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * hz * n / rate))) for n in range(rate * seconds))
    return wav_header(len(samples), rate) + samples


TONE = tone_wav(seconds=3)


def silent_mp3(seconds):
    """MPEG-1 Layer III frames of silence, 128 kbit/s at 44.1 kHz: a header (FF FB 90 64), then
    zeros, which decode as silence. 417 bytes and 1152 samples a frame."""
    frames = int(seconds * 44100 / 1152)
    return (b"\xff\xfb\x90\x64" + bytes(413)) * frames


SILENT_MP3 = silent_mp3(3)


def serve(handler, port, state):
    handler.state = state
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--voximplant-port", type=int, default=0)
    parser.add_argument("--elevenlabs-port", type=int, default=0)
    parser.add_argument("--sessions", type=int, default=2500)
    parser.add_argument("--record-every", type=int, default=1)
    parser.add_argument("--spacing", type=float, default=37, help="seconds between sessions (below 1: several a second)")
    parser.add_argument("--epoch", type=lambda text: datetime.fromisoformat(text).replace(tzinfo=timezone.utc),
                        help="UTC start of the call history, e.g. 2026-11-01T00:00:00 (default: a week ago)")
    args = parser.parse_args()
    state = State(args.sessions, args.record_every, args.epoch, args.spacing)
    vox = serve(type("V", (VoximplantHandler,), {}), args.voximplant_port, state)
    el = serve(type("E", (ElevenLabsHandler,), {}), args.elevenlabs_port, State(0))
    epoch = state.sessions[0]["start_date"].replace(" ", "T") if state.sessions else "-"
    print(f"ready voximplant={vox.server_address[1]} elevenlabs={el.server_address[1]} epoch={epoch}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
