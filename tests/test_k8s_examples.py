"""The Kubernetes example (docs/k8s/*.yaml) parses and holds together: every
document names its apiVersion, kind and name; Deployments select their own
pods, every container has an image, the roles are those of
docker/entrypoint.sh; every ConfigMap and Secret a pod uses is defined;
Services select pods that exist; the beat is one replica that is never
doubled by a rollout; the web role goes through PgBouncer in transaction
mode and workers and the outbox relay do not; every variable the example sets is one govflow
reads (docs/deploy.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "docs" / "k8s"
API_VERSIONS = {
    "ConfigMap": "v1",
    "Secret": "v1",
    "Service": "v1",
    "Deployment": "apps/v1",
    "Job": "batch/v1",
    "PodDisruptionBudget": "policy/v1",
    "Ingress": "networking.k8s.io/v1",
}
ROLES = {"web", "worker", "relay", "beat"}
# Made outside the example: the TLS certificate (by the certificate issuer).
EXTERNAL = {("Secret", "govflow-tls")}
NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def documents() -> list[tuple[str, dict]]:
    found = []
    for path in sorted(K8S.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if document is not None:
                found.append((path.name, document))
    return found


DOCUMENTS = documents()


def of_kind(kind: str) -> list[dict]:
    return [document for _, document in DOCUMENTS if document["kind"] == kind]


def pod_specs() -> list[tuple[str, dict]]:
    """(name, pod template) of every Deployment and Job."""
    return [
        (document["metadata"]["name"], document["spec"]["template"])
        for _, document in DOCUMENTS
        if document["kind"] in ("Deployment", "Job")
    ]


def deployment(name: str) -> dict:
    (found,) = [d for d in of_kind("Deployment") if d["metadata"]["name"] == name]
    return found


def environment(name: str) -> dict[str, dict]:
    (container,) = deployment(name)["spec"]["template"]["spec"]["containers"]
    return {entry["name"]: entry for entry in container.get("env", [])}


def test_there_is_an_example_per_role():
    assert {path.name for path in K8S.glob("*.yaml")} >= {
        "web.yaml",
        "worker.yaml",
        "relay.yaml",
        "beat.yaml",
        "config.yaml",
    }
    assert len(DOCUMENTS) > 5


@pytest.mark.parametrize(("file", "document"), DOCUMENTS, ids=lambda v: v if isinstance(v, str) else "")
def test_each_document_has_kind_version_and_name(file, document):
    assert document["kind"] in API_VERSIONS, f"{file}: unknown kind {document.get('kind')}"
    assert document["apiVersion"] == API_VERSIONS[document["kind"]], file
    name = document["metadata"]["name"]
    assert NAME.match(name), f"{file}: bad name {name!r}"
    assert len(name) <= 63, f"{file}: name too long {name!r}"
    labels = document["metadata"].get("labels", {})
    assert labels.get("app.kubernetes.io/name") == "govflow", f"{file}: {name} lacks the govflow label"
    if document["kind"] in ("ConfigMap", "Secret"):
        data = {**document.get("data", {}), **document.get("stringData", {})}
        assert data, f"{file}: {name} is empty"
        assert all(isinstance(value, str) for value in data.values()), f"{file}: {name}"


def test_names_are_unique_per_kind():
    seen = [(document["kind"], document["metadata"]["name"]) for _, document in DOCUMENTS]
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize(("name", "template"), pod_specs(), ids=lambda v: v if isinstance(v, str) else "")
def test_pods_have_images_and_known_references(name, template):
    defined = {(document["kind"], document["metadata"]["name"]) for _, document in DOCUMENTS} | EXTERNAL
    spec = template["spec"]
    containers = spec["containers"]
    assert containers
    for container in containers:
        assert container["name"], name
        assert ":" in container["image"], f"{name}: the image needs a tag"
        assert not container["image"].endswith(":latest"), name
        for source in container.get("envFrom", []):
            kind, ref = (
                ("ConfigMap", source["configMapRef"])
                if "configMapRef" in source
                else ("Secret", source["secretRef"])
            )
            assert (kind, ref["name"]) in defined, f"{name}: {kind} {ref['name']} is not defined"
        for entry in container.get("env", []):
            assert ("value" in entry) != ("valueFrom" in entry), f"{name}: {entry}"
            if "valueFrom" in entry:
                ref = entry["valueFrom"]["secretKeyRef"]
                (secret,) = [s for s in of_kind("Secret") if s["metadata"]["name"] == ref["name"]]
                assert ref["key"] in secret["stringData"], f"{name}: {ref}"
            else:
                assert isinstance(entry["value"], str), f"{name}: {entry['name']} must be a string"
        mounts = {mount["name"] for mount in container.get("volumeMounts", [])}
        assert mounts <= {volume["name"] for volume in spec.get("volumes", [])}, name
        args = container.get("args", [])
        if container["image"].startswith("registry.example.gov.cn/govflow:"):
            assert args, name
            assert args[0] in ROLES or args[:2] == ["python", "manage.py"], name
    for volume in spec.get("volumes", []):
        if "secret" in volume:
            assert ("Secret", volume["secret"]["secretName"]) in defined, f"{name}: {volume}"
        if "configMap" in volume:
            assert ("ConfigMap", volume["configMap"]["name"]) in defined, f"{name}: {volume}"


def test_deployments_select_their_own_pods():
    for document in of_kind("Deployment"):
        selector = document["spec"]["selector"]["matchLabels"]
        labels = document["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items(), document["metadata"]["name"]


def test_services_and_budgets_select_existing_pods():
    pods = [document["spec"]["template"]["metadata"]["labels"] for document in of_kind("Deployment")]
    for document in of_kind("Service"):
        selector = document["spec"]["selector"]
        assert any(selector.items() <= labels.items() for labels in pods), document["metadata"]["name"]
    for document in of_kind("PodDisruptionBudget"):
        selector = document["spec"]["selector"]["matchLabels"]
        assert any(selector.items() <= labels.items() for labels in pods), document["metadata"]["name"]
    services = {document["metadata"]["name"] for document in of_kind("Service")}
    for document in of_kind("Ingress"):
        for rule in document["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                assert path["backend"]["service"]["name"] in services


def test_one_beat_never_doubled_by_a_rollout():
    beat = deployment("govflow-beat")
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"]["type"] == "Recreate"
    assert [c["args"] for c in beat["spec"]["template"]["spec"]["containers"]] == [["beat"]]


def test_one_relay_publishing_the_outbox():
    relay = deployment("govflow-relay")
    assert relay["spec"]["replicas"] == 1
    assert relay["spec"]["strategy"]["type"] == "Recreate"
    assert [c["args"] for c in relay["spec"]["template"]["spec"]["containers"]] == [["relay"]]
    entrypoint = (ROOT / "docker" / "entrypoint.sh").read_text(encoding="utf-8")
    assert re.search(r"^  relay\)\n.*manage\.py outbox_relay", entrypoint, flags=re.MULTILINE | re.DOTALL)


def test_the_web_goes_through_pgbouncer_in_transaction_mode_and_workers_do_not():
    web, worker, relay, beat = (
        environment(name) for name in ("govflow-web", "govflow-worker", "govflow-relay", "govflow-beat")
    )
    assert web["DATABASE_TRANSACTION_POOLING"]["value"] == "1"
    assert web["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["key"] == "DATABASE_URL_POOLED"
    for direct in (worker, relay, beat):
        assert "DATABASE_TRANSACTION_POOLING" not in direct
        assert direct["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["key"] == "DATABASE_URL_DIRECT"
    (config,) = [c for c in of_kind("ConfigMap") if c["metadata"]["name"] == "pgbouncer"]
    assert re.search(r"^pool_mode = transaction$", config["data"]["pgbouncer.ini"], flags=re.MULTILINE)


def test_every_variable_set_is_one_govflow_reads():
    read = "\n".join(
        path.read_text(encoding="utf-8")
        for path in [*ROOT.joinpath("govflow").rglob("*.py"), ROOT / "docker" / "entrypoint.sh"]
    )
    names = set()
    for document in of_kind("ConfigMap"):
        if document["metadata"]["name"] == "govflow":
            names |= set(document["data"])
    for _, template in pod_specs():
        for container in template["spec"]["containers"]:
            names |= {entry["name"] for entry in container.get("env", [])}
    for document in of_kind("Secret"):
        if document["metadata"]["name"] == "govflow":
            names |= {key for key in document["stringData"] if not key.startswith("DATABASE_URL_")}
    unread = sorted(name for name in names if f'"{name}"' not in read and name not in read)
    assert unread == []


def test_the_web_probe_is_a_request_django_accepts():
    (container,) = deployment("govflow-web")["spec"]["template"]["spec"]["containers"]
    probe = container["readinessProbe"]["httpGet"]
    headers = {header["name"]: header["value"] for header in probe["httpHeaders"]}
    (config,) = [c for c in of_kind("ConfigMap") if c["metadata"]["name"] == "govflow"]
    assert headers["Host"] in config["data"]["DJANGO_ALLOWED_HOSTS"].split(",")
    # SECURE_SSL_REDIRECT is on in production: without this the probe gets a redirect.
    assert headers["X-Forwarded-Proto"] == "https"
