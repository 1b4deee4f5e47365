"""`make bench`, service-account tokens: VoxFCGI's RS256 JWT (libcrypto, TokenBench.swift)
next to PyJWT with the `cryptography` backend (also OpenSSL underneath) on the same 2048-bit
key, the same header and claims, in the same run. Each Voximplant API call with a service
account signs one token, so this is the cost that sign-in adds per call.

    python3 bench/jwt_bench.py RESULTS_JSON
"""

import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import results

ROOT = Path(__file__).resolve().parents[1]
COUNT = 2000


def main():
    results_path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "bench-results.json"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption()).decode()
    with tempfile.NamedTemporaryFile("w", suffix=".json") as file:
        json.dump({"account_id": 1234567, "key_id": "bench-key", "private_key": pem}, file)
        file.flush()
        out = subprocess.run([str(ROOT / ".build" / "release" / "voxbench"), "jwt", file.name, str(COUNT)],
                             capture_output=True, text=True, check=True).stdout
    ours = float(re.search(r"us_per_token=([\d.]+)", out).group(1))

    # PyJWT wants a string `iss`; the SDKs send a number, which only changes the claim's bytes.
    now = int(time.time())
    jwt.encode({"iss": "1234567", "iat": now, "exp": now + 64}, key, algorithm="RS256", headers={"kid": "bench-key"})
    start = time.perf_counter()
    for _ in range(COUNT):
        jwt.encode({"iss": "1234567", "iat": now, "exp": now + 64}, key, algorithm="RS256", headers={"kid": "bench-key"})
    peer = (time.perf_counter() - start) / COUNT * 1e6

    print(f"service-account token (RS256, 2048-bit): VoxFCGI {ours:.0f} µs, PyJWT {peer:.0f} µs "
          f"(ratio {ours / peer:.2f}); {COUNT} tokens each")
    results.merge(results_path, "jwt_", [
        {"name": "jwt_sign_us", "unit": "µs/token", "value": round(ours, 1)},
        {"name": "jwt_sign_pyjwt_us", "unit": "µs/token", "value": round(peer, 1)},
        {"name": "jwt_sign_ratio", "unit": "ratio", "value": round(ours / peer, 3)},
    ])


if __name__ == "__main__":
    main()
