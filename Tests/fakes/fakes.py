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
    GET /records/secure/<n>.mp3    a recording of an application with secure storage: 401
                                   without a valid service-account JWT (see `verify_jwt`)

Control endpoints (on either server):
    POST /_control/fault  {"match": "GetAccountInfo", "mode": "500", "times": 2}
         modes: 401 (Voximplant: error 100 in a 200), 403 (an HTTP 403), 404, 500, 429, 429-retry-after,
                slow, malformed, truncated
    POST /_control/latency {"seconds": 0.3}   every API answer waits this long first
    GET  /_control/log    what was asked of the fake (deployment calls, in order)
    GET  /_control/history-requests   every GetCallHistory page asked for (offset, count, from_date)
    GET  /_control/secrets            the application secrets deployed (names and values)
    GET  /_control/service-account    the service-account key file (JSON) the fake accepts JWTs from
    GET  /_control/auth-log           each API call and recording GET: method and how it authenticated
    POST /_control/secure-storage {"application_id": 501, "on": true}   as SetApplicationInfo would
    POST /_control/reset
"""

import argparse
import base64
import json
import uuid
import math
import random
import re
import struct
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

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
        # Agents with their audio formats (conversation_config.asr.user_input_audio_format,
        # .tts.agent_output_audio_format; values from elevenlabs-python types/asr_input_format.py).
        # None leaves the field out, as the SDK allows (default=None): the API's default is
        # pcm_16000 (elevenlabs-docs openapi.json, 2025).
        self.agents = {"agent_support_1": {"name": "Support agent", "asr": "pcm_16000", "tts": "pcm_16000"},
                       "agent_sales_2": {"name": "Sales agent", "asr": None, "tts": None},
                       "agent_legacy_3": {"name": "Legacy phone agent", "asr": "ulaw_8000", "tts": "pcm_8000"}}
        self.webhooks = {}
        self.convai_settings = {}
        self.deleted_conversations = []
        self.conversations = {}
        self.auth_log = []
        self.secure_apps = set()
        self.deleted_records = set()
        # A service account as the control panel issues one: the JSON file carries account_id,
        # key_id, private_key and account_email (apiclient-nodejs src/index.ts
        # VoximplantApiClientKey). Voximplant keeps only the public half.
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public_key = private.public_key()
        self.service_account = {
            "account_id": int(VOX_ACCOUNT_ID), "key_id": str(uuid.uuid4()), "account_email": "ops@acme.example",
            "private_key": private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                                 serialization.NoEncryption()).decode(),
        }

    def verify_jwt(self, token):
        """A service-account token as both SDKs make it (apiclient-nodejs src/index.ts
        generateAuthHeader: jwt.sign({iss: account_id, iat, exp: iat + 64}, private_key,
        {algorithm: 'RS256', header: {kid: key_id}})), checked against the public key; the
        Voximplant docs cap a token's life at an hour. Returns None when valid, else why not."""
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != "RS256" or header.get("kid") != self.service_account["key_id"]:
                return "unknown key or algorithm"
            claims = jwt.decode(token, self.public_key, algorithms=["RS256"],
                                options={"require": ["iss", "iat", "exp"], "verify_iss": False})
        except jwt.PyJWTError as error:
            return str(error)
        if str(claims["iss"]) != VOX_ACCOUNT_ID:
            return "iss is not the account"
        if not 0 < claims["exp"] - claims["iat"] <= 3600:
            return "token lives longer than an hour"
        return None

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
        if path == "/_control/service-account":
            return self.send(200, self.state.service_account)
        if path == "/_control/auth-log":
            return self.send(200, self.state.auth_log)
        if path == "/_control/secure-storage":
            ask = json.loads(self.body() or b"{}")
            with self.state.lock:
                (self.state.secure_apps.add if ask.get("on", True) else self.state.secure_apps.discard)(int(ask["application_id"]))
            return self.send(200, {"ok": True})
        if path == "/_control/secrets":
            return self.send(200, [{"application_id": a, "secret_name": n, "secret_value": v}
                                   for (a, n), (_, v) in self.state.secrets.items()])
        if path == "/_control/agents":
            # Adds `count` plain agents: enough of them make the agent list page by cursor.
            count = int(json.loads(self.body() or b"{}").get("count", 0))
            with self.state.lock:
                start = len(self.state.agents)
                for n in range(start, start + count):
                    self.state.agents[f"agent_extra_{n:04d}"] = {"name": f"Extra agent {n}", "asr": "pcm_16000", "tts": "pcm_16000"}
            return self.send(200, {"agents": len(self.state.agents)})
        if path == "/_control/convai-settings":
            # As if someone else had set the workspace's post-call webhook in the dashboard.
            with self.state.lock:
                self.state.convai_settings.update(json.loads(self.body() or b"{}"))
            return self.send(200, {"ok": True})
        if path == "/_control/elevenlabs":
            return self.send(200, {"webhooks": self.state.webhooks, "settings": self.state.convai_settings,
                                   "deleted_conversations": self.state.deleted_conversations,
                                   "agents": self.state.agents})
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
        elif mode == "403":
            self.send(403, {"error": {"code": 100, "msg": "Access denied"}})
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

    def bearer(self):
        """How the request authenticated: "jwt", "bad-jwt: <why>" or None."""
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return None
        why = self.state.verify_jwt(auth[len("Bearer "):])
        return "jwt" if why is None else "bad-jwt: " + why

    def recording(self, name):
        auth = self.bearer()
        with self.state.lock:
            self.state.auth_log.append({"method": "GET /records/" + name, "auth": auth or "none"})
        if ("/records/" + name) in self.state.deleted_records:
            return self.send(404, {"error": "record not found"})
        if name.startswith("secure/"):
            # Secure storage: the GET needs the account's JWT (Voximplant docs, "secure
            # objects"; shared/reference/voximplant-api.md): without one, 401.
            if auth != "jwt":
                return self.send(401, {"error": {"code": 100, "msg": "Authorization required"}})
            name = name[len("secure/"):]
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
        # A service-account JWT in `Authorization` (the SDKs send nothing else), or the older
        # account_id + api_key parameters; error 100 "Authorization failed" otherwise
        # (apiclient-nodejs src/Enums.ts).
        auth = self.bearer()
        if auth is None:
            auth = "api_key" if params.get("account_id") == VOX_ACCOUNT_ID and params.get("api_key") == VOX_API_KEY else "none"
        with self.state.lock:
            self.state.auth_log.append({"method": method, "auth": auth})
        if auth not in ("jwt", "api_key"):
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
                # Secure storage serves an application's records under /records/secure/ here.
                secure = "/secure" if s["application_id"] in self.state.secure_apps else ""
                item["records"] = [dict(r, record_url=f"http://{self.headers['Host']}/records{secure}{r['record_url'][len('/records'):]}")
                                   for r in item["records"]]
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
        """AddApplication: `application_name`, `secure_record_storage` (boolean); answers
        result, application_id, application_name, secure_record_storage (src/index.ts)."""
        aid = self.state.new_id()
        name = params["application_name"] + ".acme-voice.voximplant.com"
        secure = params.get("secure_record_storage") == "true"
        self.state.applications.append({"application_id": aid, "application_name": name})
        if secure:
            self.state.secure_apps.add(aid)
        self.record({"method": "AddApplication", "application_name": params["application_name"], "secure_record_storage": secure})
        self.send(200, {"result": 1, "application_id": aid, "application_name": name, "secure_record_storage": secure})

    def m_SetApplicationInfo(self, params):
        """SetApplicationInfo: `application_id`, `secure_record_storage` among others (src/index.ts)."""
        aid = int(params.get("application_id", 0))
        if "secure_record_storage" in params:
            with self.state.lock:
                (self.state.secure_apps.add if params["secure_record_storage"] == "true" else self.state.secure_apps.discard)(aid)
        self.record({"method": "SetApplicationInfo", "application_id": aid,
                     "secure_record_storage": params.get("secure_record_storage")})
        self.send(200, {"result": 1, "secure_record_storage": aid in self.state.secure_apps})

    def m_DeleteRecord(self, params):
        """DeleteRecord by `record_url` or `record_id`; answers {"result": 1} (src/Interfaces.ts
        DeleteRecordRequest/Response). The recording then answers 404."""
        url = params.get("record_url")
        if not url or "/records/" not in url:
            return self.send(200, {"error": {"code": 101, "msg": "Invalid arguments: record_url"}})
        path = urlparse(url).path
        with self.state.lock:
            self.state.deleted_records.add(path)
            self.state.deleted_records.add(path.replace("/records/secure/", "/records/"))
        self.record({"method": "DeleteRecord", "record_url": url})
        self.send(200, {"result": 1})

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

    def authorized(self):
        """`xi-api-key` (elevenlabs-python core/client_wrapper.py); 401 invalid_api_key otherwise."""
        if self.headers.get("xi-api-key") == EL_API_KEY:
            return True
        self.send(401, {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}})
        return False

    def json_body(self):
        try:
            return json.loads(self.body() or b"{}")
        except ValueError:
            return None

    def agent_json(self, agent_id):
        """GetAgentResponseModel: agent_id, name, conversation_config (required), metadata, tags."""
        agent = self.state.agents[agent_id]
        if "config" not in agent:
            # Built once from the formats, with the other settings a real agent has (voice, ASR
            # provider, language), so that a PATCH that loses them shows.
            config = {"agent": {"first_message": "Hello", "language": "en"}}
            config["asr"] = {"quality": "high", "provider": "elevenlabs", "keywords": []}
            if agent["asr"] is not None:
                config["asr"]["user_input_audio_format"] = agent["asr"]
            config["tts"] = {"model_id": "eleven_flash_v2", "voice_id": "cjVigY5qzO86Huf0OWal"}
            if agent["tts"] is not None:
                config["tts"]["agent_output_audio_format"] = agent["tts"]
            agent["config"] = config
        return {"agent_id": agent_id, "name": agent["name"], "conversation_config": agent["config"],
                "metadata": {"created_at_unix_secs": 1714423232}, "tags": []}

    def do_POST(self):
        path = urlparse(self.path).path
        if path.startswith("/_control/"):
            return self.control(path)
        if self.apply_fault(path) or not self.authorized():
            return
        if path == "/v1/workspace/webhooks":
            # POST {"settings": WebhookHmacSettings{auth_type "hmac", name, webhook_url}} ->
            # {webhook_id, webhook_secret} (elevenlabs-python webhooks/raw_client.py create;
            # elevenlabs-js tests/wire/webhooks.test.ts). webhook_url is "The HTTPS callback URL".
            body = self.json_body() or {}
            settings = body.get("settings") or {}
            if settings.get("auth_type") != "hmac" or not settings.get("name") or not str(settings.get("webhook_url", "")).startswith("https://"):
                return self.send(422, {"detail": [{"loc": ["body", "settings"], "msg": "auth_type hmac, name and an https webhook_url are required", "type": "value_error"}]})
            webhook_id = "wh_" + uuid.uuid4().hex[:20]
            secret = "wsec_" + uuid.uuid4().hex + uuid.uuid4().hex
            with self.state.lock:
                self.state.webhooks[webhook_id] = {"name": settings["name"], "webhook_url": settings["webhook_url"],
                                                   "auth_type": "hmac", "secret": secret}
            return self.send(200, {"webhook_id": webhook_id, "webhook_secret": secret})
        return self.send(404, {"detail": "Not Found"})

    def do_PATCH(self):
        path = urlparse(self.path).path
        # Faults match "PATCH <path>", so that one can break the PATCH alone.
        if self.apply_fault("PATCH " + path) or not self.authorized():
            return
        body = self.json_body()
        if body is None:
            return self.send(422, {"detail": [{"loc": ["body"], "msg": "invalid JSON", "type": "value_error"}]})
        parts = path.strip("/").split("/")
        if parts[:3] == ["v1", "convai", "agents"] and len(parts) == 4:
            # PATCH body members are all optional and answer the whole agent (agents/raw_client.py
            # update). Whether a partial conversation_config merges is undocumented: this fake
            # takes the harsher reading and replaces it whole, so a client that sends only the
            # fields it changes loses the agent's voice and language here.
            if parts[3] not in self.state.agents:
                return self.send(404, {"detail": {"status": "agent_not_found", "message": f"Agent {parts[3]} not found"}})
            self.agent_json(parts[3])
            if "conversation_config" in body and self.state.take_fault("ignore-patch") is None:
                with self.state.lock:
                    self.state.agents[parts[3]]["config"] = body["conversation_config"]
            return self.send(200, self.agent_json(parts[3]))
        if path == "/v1/convai/settings":
            # PATCH {"webhooks": ConvAiWebhooks{post_call_webhook_id, events}} -> the settings
            # (conversational_ai/settings/raw_client.py update; types/conv_ai_webhooks.py).
            webhooks = body.get("webhooks") or {}
            if webhooks.get("post_call_webhook_id") not in self.state.webhooks:
                return self.send(422, {"detail": [{"loc": ["body", "webhooks", "post_call_webhook_id"], "msg": "unknown webhook", "type": "value_error"}]})
            with self.state.lock:
                self.state.convai_settings["webhooks"] = webhooks
            return self.send(200, {"webhooks": webhooks, "can_use_mcp_servers": False, "rag_retention_period_days": 10})
        return self.send(404, {"detail": "Not Found"})

    def do_DELETE(self):
        path = urlparse(self.path).path
        if self.apply_fault(path) or not self.authorized():
            return
        parts = path.strip("/").split("/")
        if parts[:3] == ["v1", "workspace", "webhooks"] and len(parts) == 4:
            # DELETE answers {"status": "ok"} (types/delete_workspace_webhook_response_model.py).
            with self.state.lock:
                gone = self.state.webhooks.pop(parts[3], None)
            if gone is None:
                return self.send(404, {"detail": {"status": "not_found", "message": "webhook not found"}})
            return self.send(200, {"status": "ok"})
        if parts[:3] == ["v1", "convai", "conversations"] and len(parts) == 4:
            if self.conversation(parts[3]) is None:
                return self.send(404, {"detail": {"status": "invalid_id", "message": "conversation not found"}})
            with self.state.lock:
                self.state.deleted_conversations.append(parts[3])
            # The SDK types the answer Any; the JS wire test answers a placeholder object.
            return self.send(200, {"key": "value"})
        return self.send(404, {"detail": "Not Found"})

    def do_GET(self):
        url = urlparse(self.path)
        path = url.path
        if path.startswith("/_control/"):
            return self.control(path)
        if self.apply_fault(path) or not self.authorized():
            return
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        parts = path.strip("/").split("/")
        if parts == ["v1", "convai", "agents"]:
            return self.list_agents(query)
        if parts == ["v1", "convai", "settings"]:
            # GetConvAiSettingsResponseModel: webhooks (ConvAiWebhooks) among others.
            return self.send(200, {"webhooks": self.state.convai_settings.get("webhooks", {}), "can_use_mcp_servers": False})
        if parts[:3] == ["v1", "convai", "agents"] and len(parts) == 4:
            if parts[3] not in self.state.agents:
                # The SDKs declare only 422 for this endpoint; 404 for an unknown id is our
                # assumption (shared/reference/elevenlabs-api.md), which the product reads as "no such agent".
                return self.send(404, {"detail": {"status": "agent_not_found", "message": f"Agent {parts[3]} not found"}})
            return self.send(200, self.agent_json(parts[3]))
        if parts[:3] == ["v1", "convai", "conversations"]:
            if len(parts) == 3:
                return self.list_conversations(query)
            conversation = self.conversation(parts[3])
            if conversation is None or parts[3] in self.state.deleted_conversations:
                return self.send(404, {"detail": {"status": "invalid_id", "message": "conversation not found"}})
            if len(parts) == 5 and parts[4] == "audio":
                return self.send(200, None, raw=b"ID3" + bytes(4000), content_type="audio/mpeg")
            return self.send(200, conversation)
        if parts[:2] == ["v1", "validation"]:
            return self.send(422, {"detail": [{"loc": ["query", "page_size"], "msg": "ensure this value is less than or equal to 100", "type": "value_error"}]})
        if parts[:2] == ["v1", "legacy-error"]:
            return self.send(400, {"detail": "plain string detail"})
        return self.send(404, {"detail": "Not Found"})

    def list_agents(self, query):
        """GET /v1/convai/agents: page_size "Can not exceed 100, defaults to 30", cursor; answers
        {agents: [AgentSummary{agent_id, name, tags, created_at_unix_secs, access_info, ...}],
        has_more, next_cursor} (agents/raw_client.py list; types/get_agents_page_response_model.py)."""
        size = int(query.get("page_size", 30))
        if not 1 <= size <= 100:
            return self.send(422, {"detail": [{"loc": ["query", "page_size"], "msg": "ensure this value is less than or equal to 100", "type": "value_error"}]})
        ids = sorted(self.state.agents)
        start = int(query.get("cursor", "0") or 0)
        page = [{"agent_id": i, "name": self.state.agents[i]["name"], "tags": [], "created_at_unix_secs": 1716153600,
                 "access_info": {"is_creator": True, "creator_name": "Ops", "creator_email": "ops@acme.example", "role": "admin"},
                 "last_call_time_unix_secs": None, "archived": False} for i in ids[start: start + size]]
        more = start + size < len(ids)
        self.send(200, {"agents": page, "has_more": more, "next_cursor": str(start + size) if more else None})

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
