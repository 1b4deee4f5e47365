"""A real S3 API for end-to-end tests: Tests/fakes/s3server.py (moto with signature checking
on), reached through a TCP relay the test can cut and restore, to take "S3" down and bring it
back without losing the server's state."""

import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[2]


class S3:
    def __init__(self, bucket="recordings"):
        self.bucket = bucket
        self.process = subprocess.Popen([sys.executable, str(ROOT / "Tests" / "fakes" / "s3server.py"), "--bucket", bucket],
                                        stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        fields = dict(re.findall(r"(\w+)=(\S+)", line))
        self.port = int(fields["port"])
        self.access_key, self.secret_key = fields["access_key"], fields["secret_key"]
        self.relay = Relay(self.port)
        self.endpoint = f"http://127.0.0.1:{self.relay.port}"
        self.client = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{self.port}", region_name="us-east-1",
                                   aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key,
                                   config=Config(s3={"addressing_style": "path"}))

    def keys(self, prefix=""):
        listing = self.client.list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        return {item["Key"]: item["Size"] for item in listing.get("Contents", [])}

    def uploads_in_progress(self):
        return self.client.list_multipart_uploads(Bucket=self.bucket).get("Uploads", [])

    def stop(self):
        self.relay.close()
        self.process.kill()
        self.process.wait()


class Relay:
    """Forwards a loopback port to the S3 server. `down()` closes the listener and every open
    connection (clients get "connection refused"); `up()` listens again on the same port."""

    def __init__(self, target_port):
        self.target = target_port
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.connections = []
        self.lock = threading.Lock()
        self.listener = None
        self.up()

    def up(self):
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self):
        listener, self.listener = self.listener, None
        if listener:
            # shutdown() wakes the thread blocked in accept(); close() alone would not, and the
            # kernel would keep accepting connections on the old socket.
            try:
                listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            listener.close()
        with self.lock:
            for connection in self.connections:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                connection.close()
            self.connections.clear()

    close = down

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target))
            with self.lock:
                self.connections += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source, destination):
        try:
            while True:
                data = source.recv(1 << 16)
                if not data:
                    break
                destination.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, destination):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
