"""A real S3-compatible server for tests: moto's server with signature checking on.

    python3 Tests/fakes/s3server.py [--port P] [--bucket NAME ...]

moto checks nothing by default. With INITIAL_NO_AUTH_ACTION_COUNT=N the first N requests
pass unauthenticated and every later one must be signed by an IAM user's access key that
moto knows and be allowed by its policy (shared/reference/tech-notes.md §2). So: the first
three requests create that user, its key and an allow-all S3 policy; then the buckets are
created with the new key, signed like any client. Prints one line once ready:

    ready port=<port> access_key=<id> secret_key=<secret>
"""

import argparse
import logging
import os
import socket
import threading

os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "3"
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from moto.core.authorization import ActionAuthenticatorMixin  # noqa: E402
from moto.core.responses import BaseResponse  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402


def check_signatures_against_the_uri_as_sent():
    """moto (5.2) recomputes a signature over the *decoded* request URI that werkzeug rebuilds,
    so any correctly signed request whose path has `%2B` (a `+` in a key) or whose query has
    `%2F` (a `/` in a list prefix) fails with SignatureDoesNotMatch; boto3 fails the same way.
    AWS S3 signs the URI as sent (S3 API reference, "sig-v4-header-based-auth": UriEncode each
    path segment; `+` is `%2B`). This gives moto's check the URI as sent, so the test server
    behaves like S3 for those keys. Nothing else of moto changes."""
    original_setup = BaseResponse.setup_class
    original_check = ActionAuthenticatorMixin._authenticate_and_authorize_action

    def setup_class(self, request, full_url, headers, *args, **kwargs):
        original_setup(self, request, full_url, headers, *args, **kwargs)
        environ = getattr(request, "environ", None) or {}
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
        self._uri_as_sent = raw if raw and raw.startswith("/") else None

    def check(self, iam_request_cls, resource="*"):
        raw = getattr(self, "_uri_as_sent", None)
        if raw is None:
            return original_check(self, iam_request_cls, resource)
        decoded, self.uri = self.uri, raw
        try:
            return original_check(self, iam_request_cls, resource)
        finally:
            self.uri = decoded

    BaseResponse.setup_class = setup_class
    ActionAuthenticatorMixin._authenticate_and_authorize_action = check


check_signatures_against_the_uri_as_sent()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--bucket", action="append", default=[])
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = args.port or free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    bootstrap = dict(endpoint_url=endpoint, region_name="us-east-1",
                     aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
    iam = boto3.client("iam", **bootstrap)
    iam.create_user(UserName="voxfcgi")
    key = iam.create_access_key(UserName="voxfcgi")["AccessKey"]
    iam.put_user_policy(UserName="voxfcgi", PolicyName="s3-all",
                        PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}')
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
                      config=Config(s3={"addressing_style": "path"}))
    for bucket in args.bucket or ["recordings"]:
        s3.create_bucket(Bucket=bucket)
    print(f"ready port={port} access_key={key['AccessKeyId']} secret_key={key['SecretAccessKey']}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
