"""Checks on what deploys Relais: Dockerfile, docker-compose.yml, deploy/k8s and
deploy/prometheus. They read the files and run `docker-compose config`; nothing
is built or started, so no Docker engine or cluster is needed.
"""
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from kubernetes_validate import validate

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
PROMETHEUS = ROOT / "deploy" / "prometheus"
GRAFANA = ROOT / "deploy" / "grafana"
K8S_VERSION = "1.30"
APP_UID = 10001

# The contract: every Python component, its HTTP port, and how it runs.
SERVICES = {"identity": 8001, "booking": 8002, "billing": 8003, "notify": 8004}
COMPONENTS = {**SERVICES, "gateway": 8080}
INFRASTRUCTURE = ("rabbitmq", "postgres", "mailpit", "redis")
GATEWAY_COMMAND = "gunicorn -c gateway/gunicorn.conf.py"
GATEWAY_APP = "gateway.app:app"
WEB_PORT = 8090
WEB_COMMAND = "gunicorn -c web/gunicorn.conf.py"


def run_command(name):
    return f"python -m common.run services.{name}.service"


def migrate_command(name):
    return f"python -m common.migrate {name}"


# identity's one-off set-up (signing key, first admin), between migrate and run.
BOOTSTRAP_COMMAND = "python -m services.identity.bootstrap"


def start_steps(name):
    """What a service's container runs, in order, before and as the service."""
    if name == "identity":
        return [migrate_command(name), BOOTSTRAP_COMMAND, run_command(name)]
    return [migrate_command(name), run_command(name)]


# --- docker-compose ----------------------------------------------------------

@pytest.fixture(scope="module")
def compose():
    """`docker-compose config`: the file as docker-compose itself resolves it."""
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail("docker-compose is not on PATH: install it (Debian package "
                    "docker-compose, 1.29) to check docker-compose.yml")
    result = subprocess.run(
        [binary, "-f", "docker-compose.yml", "config"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, f"docker-compose config failed:\n{result.stderr}"
    return yaml.safe_load(result.stdout)


def command_line(service):
    command = service.get("command", "")
    return command if isinstance(command, str) else " ".join(command)


def published_ports(service):
    """(host port, container port) pairs, from the short syntax that
    docker-compose 1.29 prints or the long one Compose v2 prints."""
    pairs = set()
    for port in service.get("ports", []):
        if isinstance(port, dict):
            pairs.add((int(port["published"]), int(port["target"])))
        else:
            host, container = str(port).split("/")[0].split(":")[-2:]
            pairs.add((int(host), int(container)))
    return pairs


def test_compose_runs_the_whole_network(compose):
    expected = set(COMPONENTS) | set(INFRASTRUCTURE) | {"prometheus", "postgres-exporter",
                                                         "grafana"}
    assert expected <= set(compose["services"])


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_compose_service_migrates_then_runs(compose, name):
    service = compose["services"][name]
    command = command_line(service)
    # Each step only if the one before succeeded; the service replaces the shell.
    steps = start_steps(name)
    assert " && ".join(steps[:-1] + ["exec " + steps[-1]]) in command


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_compose_service_env_and_port(compose, name):
    service = compose["services"][name]
    port = SERVICES[name]
    env = service["environment"]
    assert env["RELAIS_HTTP_ADDRESS"] == f"0.0.0.0:{port}"
    assert env["RELAIS_DATABASE_URL"].startswith("postgresql://")
    assert env["RELAIS_DATABASE_URL"].endswith(f"@postgres:5432/relais_{name}")
    assert env["RELAIS_AMQP_URI"].startswith("amqp://")
    assert env["RELAIS_AMQP_URI"].endswith("@rabbitmq:5672/")
    assert (port, port) in published_ports(service)


def test_compose_gateway(compose):
    gateway = compose["services"]["gateway"]
    command = command_line(gateway)
    assert GATEWAY_COMMAND in command and command.rstrip().endswith(GATEWAY_APP)
    assert (8080, 8080) in published_ports(gateway)
    env = gateway["environment"]
    assert env["PROMETHEUS_MULTIPROC_DIR"].startswith("/tmp/")
    for name in ("RELAIS_AMQP_URI", "RELAIS_RPC_TIMEOUT_SECONDS",
                 "GUNICORN_WORKERS", "GUNICORN_THREADS"):
        assert env.get(name), name


def test_compose_web(compose):
    web = compose["services"]["web"]
    command = command_line(web)
    assert WEB_COMMAND in command and command.rstrip().endswith("web.app:app")
    assert (WEB_PORT, WEB_PORT) in published_ports(web)
    assert web["environment"]["RELAIS_GATEWAY_URL"] == "http://gateway:8080"
    assert web["environment"]["RELAIS_WEB_SECRET"]
    assert web["depends_on"]["gateway"]["condition"] == "service_healthy"
    assert web["environment"]["RELAIS_REDIS_URL"] == "redis://redis:6379/0"
    assert web["depends_on"]["redis"]["condition"] == "service_healthy"
    assert f"127.0.0.1:{WEB_PORT}/health" in " ".join(web["healthcheck"]["test"])


def test_compose_identity_and_notify_settings(compose):
    identity = compose["services"]["identity"]["environment"]
    for name in ("RELAIS_JWT_PRIVATE_KEY", "RELAIS_BOOTSTRAP_ADMIN_EMAIL",
                 "RELAIS_BOOTSTRAP_ADMIN_PASSWORD"):
        assert name in identity
    notify = compose["services"]["notify"]["environment"]
    assert notify["RELAIS_SMTP_HOST"] == "mailpit"
    assert str(notify["RELAIS_SMTP_PORT"]) == "1025"
    assert notify["RELAIS_MAIL_FROM"]


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_compose_component_has_a_healthcheck(compose, name):
    healthcheck = compose["services"][name].get("healthcheck")
    assert healthcheck, f"{name} has no healthcheck"
    assert not healthcheck.get("disable", False)
    path = "/ready" if name == "gateway" else "/health"
    assert f"127.0.0.1:{COMPONENTS[name]}{path}" in " ".join(healthcheck["test"])


@pytest.mark.parametrize("name", sorted([*COMPONENTS, "web"]))
def test_compose_component_is_hardened(compose, name):
    service = compose["services"][name]
    assert service["image"].startswith("relais:")
    assert service.get("read_only") is True
    assert "/tmp" in service.get("tmpfs", [])
    assert service.get("cap_drop") == ["ALL"]
    assert "no-new-privileges:true" in service.get("security_opt", [])


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_compose_service_waits_for_healthy_broker_and_database(compose, name):
    depends_on = compose["services"][name]["depends_on"]
    for dependency in ("rabbitmq", "postgres"):
        assert depends_on[dependency]["condition"] == "service_healthy"
        assert compose["services"][dependency].get("healthcheck"), dependency


def test_compose_gateway_waits_for_healthy_services(compose):
    depends_on = compose["services"]["gateway"]["depends_on"]
    for name in [*SERVICES, "rabbitmq"]:
        assert depends_on[name]["condition"] == "service_healthy"


def test_compose_infrastructure_images(compose):
    services = compose["services"]
    assert services["rabbitmq"]["image"] == "rabbitmq:3.13-management"
    assert services["postgres"]["image"] == "postgres:16"
    assert services["mailpit"]["image"].startswith("axllent/mailpit")
    assert services["prometheus"]["image"].startswith("prom/prometheus")
    assert {(1025, 1025), (8025, 8025)} <= published_ports(services["mailpit"])
    assert {(5672, 5672), (15672, 15672)} <= published_ports(services["rabbitmq"])


def test_compose_grafana_is_provisioned_with_the_dashboards(compose):
    volumes = compose["services"]["grafana"]["volumes"]
    sources = [v["source"] if isinstance(v, dict) else v.split(":")[0] for v in volumes]
    targets = [v["target"] if isinstance(v, dict) else v.split(":")[1] for v in volumes]
    assert targets[sources.index(str(GRAFANA / "provisioning"))] == "/etc/grafana/provisioning"
    assert targets[sources.index(str(GRAFANA / "dashboards"))] == "/var/lib/grafana/dashboards"


def test_dashboards_use_the_provisioned_data_source():
    (source,) = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())["datasources"]
    dashboards = sorted((GRAFANA / "dashboards").glob("*.json"))
    assert {path.stem for path in dashboards} >= {"platform", "network"}
    for path in dashboards:
        dashboard = json.loads(path.read_text())
        assert dashboard["uid"] and dashboard["title"]
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                assert target["datasource"]["uid"] == source["uid"], (path.name, panel["title"])


def test_compose_prometheus_reads_deploy_prometheus(compose):
    prometheus = compose["services"]["prometheus"]
    volumes = prometheus["volumes"]
    sources = [v["source"] if isinstance(v, dict) else v.split(":")[0] for v in volumes]
    targets = [v["target"] if isinstance(v, dict) else v.split(":")[1] for v in volumes]
    assert str(PROMETHEUS) in sources
    assert targets[sources.index(str(PROMETHEUS))] == "/etc/prometheus"
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]


# --- Dockerfile --------------------------------------------------------------

def test_dockerfile_is_slim_non_root_and_unbuffered():
    dockerfile = (ROOT / "Dockerfile").read_text()
    # the public slim base by default; a build argument for machines without a registry
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim$", dockerfile, re.M)
    assert re.search(r"^FROM \$\{PYTHON_IMAGE\}$", dockerfile, re.M)
    assert "pip install --no-cache-dir ." in dockerfile
    assert "PYTHONDONTWRITEBYTECODE=1" in dockerfile
    assert "PYTHONUNBUFFERED=1" in dockerfile
    users = re.findall(r"^USER\s+(\S+)", dockerfile, re.M)
    assert users and users[-1].split(":")[0] == str(APP_UID)


def test_dockerignore_keeps_secrets_and_local_state_out():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", ".env", "tests"} <= ignored


# --- Kubernetes --------------------------------------------------------------

def manifest_files():
    return sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def load(path):
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def all_objects():
    return [(path, obj) for path in manifest_files() for obj in load(path)]


def objects_of(kind):
    return [(path, obj) for path, obj in all_objects() if obj["kind"] == kind]


def workloads():
    return [(path, obj) for path, obj in all_objects()
            if obj["kind"] in ("Deployment", "StatefulSet")]


def workload_id(item):
    return item[1]["metadata"]["name"]


def containers(workload, init=True):
    pod = workload["spec"]["template"]["spec"]
    found = list(pod["containers"])
    if init:
        found += pod.get("initContainers", [])
    return found


def env_of(container):
    return {e["name"]: e for e in container.get("env", [])}


def test_manifest_folder_is_not_empty():
    assert len(manifest_files()) >= 11


@pytest.mark.parametrize("path", manifest_files(), ids=lambda p: p.name)
def test_manifest_validates_strictly(path):
    objects = load(path)
    assert objects, f"{path.name} holds no object"
    for obj in objects:
        validate(obj, K8S_VERSION, strict=True)


def test_kustomization_lists_exactly_the_manifests():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert kustomization["kind"] == "Kustomization"
    resources = kustomization["resources"]
    assert len(resources) == len(set(resources)), "a resource is listed twice"
    assert set(resources) == {p.name for p in manifest_files()}
    assert kustomization["namespace"] == "relais"


def test_namespace_enforces_restricted_pod_security():
    (_, namespace), = objects_of("Namespace")
    assert namespace["metadata"]["name"] == "relais"
    labels = namespace["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


@pytest.mark.parametrize("name", [*sorted(COMPONENTS), "web", *INFRASTRUCTURE])
def test_each_component_has_workload_service_and_account_in_its_file(name):
    kinds = {obj["kind"]: obj for obj in load(K8S / f"{name}.yaml")}
    assert {"Service", "ServiceAccount"} <= set(kinds)
    assert {"Deployment", "StatefulSet"} & set(kinds)
    for obj in kinds.values():
        assert obj["metadata"]["name"] == name


@pytest.mark.parametrize("item", workloads(), ids=workload_id)
def test_pod_does_not_mount_a_token_and_uses_its_account(item):
    path, workload = item
    pod = workload["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    accounts = {o["metadata"]["name"] for o in load(path) if o["kind"] == "ServiceAccount"}
    assert pod["serviceAccountName"] in accounts


@pytest.mark.parametrize("item", workloads(), ids=workload_id)
def test_every_container_has_probes(item):
    _, workload = item
    for container in containers(workload, init=False):
        for probe in ("readinessProbe", "livenessProbe"):
            assert container.get(probe), f"{container['name']} has no {probe}"


@pytest.mark.parametrize("item", workloads(), ids=workload_id)
def test_every_container_has_requests_and_limits(item):
    _, workload = item
    for container in containers(workload):
        resources = container.get("resources", {})
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(resources.get(bound, {})), \
                f"{container['name']} {bound}"


@pytest.mark.parametrize("item", workloads(), ids=workload_id)
def test_every_container_is_locked_down(item):
    _, workload = item
    for container in containers(workload):
        context = container.get("securityContext", {})
        where = container["name"]
        assert context.get("runAsNonRoot") is True, where
        assert context.get("readOnlyRootFilesystem") is True, where
        assert context.get("allowPrivilegeEscalation") is False, where
        assert context.get("capabilities", {}).get("drop") == ["ALL"], where
        assert context.get("seccompProfile", {}).get("type") == "RuntimeDefault", where


@pytest.mark.parametrize("item", workloads(), ids=workload_id)
def test_pod_runs_as_a_numeric_non_root_user(item):
    _, workload = item
    context = workload["spec"]["template"]["spec"]["securityContext"]
    assert context["runAsNonRoot"] is True
    assert isinstance(context["runAsUser"], int) and context["runAsUser"] > 0


@pytest.mark.parametrize("item", workloads(), ids=workload_id)
def test_workload_selector_matches_its_pods(item):
    _, workload = item
    selector = workload["spec"]["selector"]["matchLabels"]
    labels = workload["spec"]["template"]["metadata"]["labels"]
    assert selector and selector.items() <= labels.items()


def declared_ports(workload):
    names, numbers = set(), set()
    for container in containers(workload, init=False):
        for port in container.get("ports", []):
            numbers.add(port["containerPort"])
            if "name" in port:
                names.add(port["name"])
    return names, numbers


def is_declared(port, workload):
    names, numbers = declared_ports(workload)
    return port in names if isinstance(port, str) else port in numbers


@pytest.mark.parametrize("item", workloads(), ids=workload_id)
def test_workload_has_a_service_targeting_a_declared_port(item):
    path, workload = item
    labels = workload["spec"]["template"]["metadata"]["labels"]
    services = [o for o in load(path) if o["kind"] == "Service"
                and o["spec"]["selector"].items() <= labels.items()]
    assert services, f"no Service in {path.name} selects {labels}"
    for service in services:
        for port in service["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            assert is_declared(target, workload), f"{service['metadata']['name']}: {target}"


@pytest.mark.parametrize("item", workloads(), ids=workload_id)
def test_probes_use_declared_ports(item):
    _, workload = item
    for container in containers(workload, init=False):
        for probe in ("readinessProbe", "livenessProbe"):
            probe_spec = container.get(probe) or {}
            action = probe_spec.get("httpGet") or probe_spec.get("tcpSocket")
            if action:
                assert is_declared(action["port"], workload), f"{container['name']} {probe}"


def k8s_workload(name):
    (workload,) = [obj for _, obj in workloads() if obj["metadata"]["name"] == name]
    return workload


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_k8s_service_migrates_in_an_init_container_then_runs(name):
    workload = k8s_workload(name)
    pod = workload["spec"]["template"]["spec"]
    (main,) = pod["containers"]
    steps = [" ".join(c.get("command", []) + c["args"])
             for c in [*pod["initContainers"], main]]
    assert steps == start_steps(name)
    # args, not command: the image's entrypoint (tini) stays PID 1.
    assert "command" not in main
    for container in [*pod["initContainers"], main]:
        assert container["image"] == "relais"
        url = env_of(container)["RELAIS_DATABASE_URL"]["value"]
        assert url.startswith("postgresql://")
        assert url.endswith(f"@postgres:5432/relais_{name}")


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_k8s_component_port_probes_and_metrics(name):
    workload = k8s_workload(name)
    (main,) = workload["spec"]["template"]["spec"]["containers"]
    port = COMPONENTS[name]
    assert [p["containerPort"] for p in main["ports"]] == [port]
    assert main["livenessProbe"]["httpGet"]["path"] == "/health"
    ready = "/ready" if name == "gateway" else "/health"
    assert main["readinessProbe"]["httpGet"]["path"] == ready
    annotations = workload["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(port)
    assert annotations["prometheus.io/path"] == "/metrics"
    if name in SERVICES:
        assert env_of(main)["RELAIS_HTTP_ADDRESS"]["value"] == f"0.0.0.0:{port}"
    assert "/tmp" in {m["mountPath"] for m in main["volumeMounts"]}
    assert workload["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == APP_UID


def test_k8s_gateway_command_and_metrics_directory():
    (main,) = k8s_workload("gateway")["spec"]["template"]["spec"]["containers"]
    args = " ".join(main["args"])
    assert args.startswith(GATEWAY_COMMAND) and args.endswith(GATEWAY_APP)
    multiproc = env_of(main)["PROMETHEUS_MULTIPROC_DIR"]["value"]
    assert multiproc in {m["mountPath"] for m in main["volumeMounts"]}


def test_k8s_web_runs_replicas_sharing_sessions_in_redis():
    workload = k8s_workload("web")
    (main,) = workload["spec"]["template"]["spec"]["containers"]
    args = " ".join(main["args"])
    assert args.startswith(WEB_COMMAND) and args.endswith("web.app:app")
    assert [p["containerPort"] for p in main["ports"]] == [WEB_PORT]
    assert main["readinessProbe"]["httpGet"]["path"] == "/health"
    # sessions live in Redis: replicas share them, a rolling update keeps them
    assert workload["spec"]["replicas"] >= 2
    assert workload["spec"]["strategy"]["type"] == "RollingUpdate"
    env = env_of(main)
    assert env["RELAIS_REDIS_URL"]["valueFrom"]["configMapKeyRef"]["key"] == "RELAIS_REDIS_URL"
    assert env["RELAIS_WEB_SECRET"]["valueFrom"]["secretKeyRef"]
    assert env["RELAIS_WEB_SECURE_COOKIES"]["value"] == "true"


def test_k8s_identity_and_notify_settings():
    pod = k8s_workload("identity")["spec"]["template"]["spec"]
    (bootstrap,) = [c for c in pod["initContainers"] if c["name"] == "bootstrap"]
    env = env_of(bootstrap)
    assert env["RELAIS_JWT_PRIVATE_KEY"]["valueFrom"]["secretKeyRef"]
    assert env["RELAIS_BOOTSTRAP_ADMIN_PASSWORD"]["valueFrom"]["secretKeyRef"]
    assert env["RELAIS_BOOTSTRAP_ADMIN_EMAIL"]["valueFrom"]["configMapKeyRef"]
    (notify,) = k8s_workload("notify")["spec"]["template"]["spec"]["containers"]
    assert {"RELAIS_SMTP_HOST", "RELAIS_SMTP_PORT", "RELAIS_MAIL_FROM"} <= set(env_of(notify))


@pytest.mark.parametrize("item", workloads(), ids=workload_id)
def test_env_references_resolve(item):
    """Every configMapKeyRef / secretKeyRef names a key that exists (unless the
    reference is optional), and every $(VAR) in a value is defined earlier in
    the same container."""
    _, workload = item
    (_, configmap), = objects_of("ConfigMap")
    (_, secret), = objects_of("Secret")
    stores = {
        "configMapKeyRef": (configmap["metadata"]["name"], set(configmap["data"])),
        "secretKeyRef": (secret["metadata"]["name"], set(secret["stringData"])),
    }
    for container in containers(workload):
        defined = set()
        for entry in container.get("env", []):
            for ref_kind, ref in entry.get("valueFrom", {}).items():
                name, keys = stores[ref_kind]
                assert ref["name"] == name, entry["name"]
                assert ref["key"] in keys or ref.get("optional") is True, entry["name"]
            for var in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", entry.get("value", "")):
                assert var in defined, f"{entry['name']} uses $({var}) before it is set"
            defined.add(entry["name"])


def test_secret_values_are_marked_as_placeholders():
    (_, secret), = objects_of("Secret")
    assert secret["stringData"]
    for key, value in secret["stringData"].items():
        assert value.startswith("REPLACE-ME"), key


# --- broker users (issue 13) ------------------------------------------------
# Each component logs in to RabbitMQ as its own user (common/broker_users.py),
# created by a one-shot job before the components start.
BROKER_COMPONENTS = [*COMPONENTS, "ops"]


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_compose_component_logs_in_as_its_own_broker_user(compose, name):
    service = compose["services"][name]
    assert service["environment"]["RELAIS_AMQP_URI"].startswith(f"amqp://relais-{name}:")
    assert service["depends_on"]["broker-users"]["condition"] == \
        "service_completed_successfully"


def test_compose_creates_every_broker_user_as_the_admin(compose):
    job = compose["services"]["broker-users"]
    assert command_line(job) == "python -m common.broker_users"
    env = job["environment"]
    assert env["RELAIS_BROKER_ADMIN_USER"] == compose["services"]["rabbitmq"]["environment"][
        "RABBITMQ_DEFAULT_USER"]
    assert env["RELAIS_BROKER_API"] == "http://rabbitmq:15672/api"
    for name in BROKER_COMPONENTS:
        assert env[f"RELAIS_BROKER_PASSWORD_{name.upper()}"], name
    # the same password on both sides
    for name in COMPONENTS:
        uri = compose["services"][name]["environment"]["RELAIS_AMQP_URI"]
        assert f":{env[f'RELAIS_BROKER_PASSWORD_{name.upper()}']}@" in uri


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_k8s_component_logs_in_as_its_own_broker_user(name):
    (main,) = k8s_workload(name)["spec"]["template"]["spec"]["containers"]
    env = env_of(main)
    assert env["RABBITMQ_USER"]["value"] == f"relais-{name}"
    assert env["RABBITMQ_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"] == \
        f"broker-{name}-password"
    assert env["RELAIS_AMQP_URI"]["value"].startswith("amqp://$(RABBITMQ_USER):$(RABBITMQ_PASSWORD)@")


def test_k8s_job_creates_every_broker_user_from_its_secret():
    (path, job), = objects_of("Job")
    assert path.name == "broker-users.yaml"
    pod = job["spec"]["template"]["spec"]
    (main,) = pod["containers"]
    assert main["args"] == ["python", "-m", "common.broker_users"]
    env = env_of(main)
    (_, secret), = objects_of("Secret")
    for name in BROKER_COMPONENTS:
        ref = env[f"RELAIS_BROKER_PASSWORD_{name.upper()}"]["valueFrom"]["secretKeyRef"]
        assert ref["key"] == f"broker-{name}-password" and ref["key"] in secret["stringData"]
    assert env["RELAIS_BROKER_ADMIN_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"] == \
        "rabbitmq-password"
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsUser"] == APP_UID
    context = main["securityContext"]
    assert context["readOnlyRootFilesystem"] and not context["allowPrivilegeEscalation"]
    assert context["capabilities"]["drop"] == ["ALL"]
    assert main["resources"]["limits"] and main["resources"]["requests"]


# --- Prometheus --------------------------------------------------------------

def test_prometheus_scrapes_every_component():
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    targets = {
        target
        for job in config["scrape_configs"]
        for static in job.get("static_configs", [])
        for target in static["targets"]
    }
    for name, port in COMPONENTS.items():
        assert f"{name}:{port}" in targets
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    for name in COMPONENTS:
        assert jobs[name].get("metrics_path", "/metrics") == "/metrics"
    for rule_file in config["rule_files"]:
        assert (PROMETHEUS / rule_file).is_file(), rule_file


def load_rules():
    return yaml.safe_load((PROMETHEUS / "rules.yml").read_text())


def test_alert_rules_are_well_formed():
    groups = load_rules()["groups"]
    assert groups
    names = []
    for group in groups:
        assert group["name"] and group["rules"], group.get("name")
        for rule in group["rules"]:
            assert isinstance(rule.get("alert"), str) and rule["alert"], rule
            assert isinstance(rule.get("expr"), str) and rule["expr"].strip(), rule["alert"]
            assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
            assert rule["annotations"]["summary"], rule["alert"]
            if "for" in rule:
                assert re.fullmatch(r"(\d+[smhdwy])+", rule["for"]), rule["alert"]
            names.append(rule["alert"])
    assert len(names) == len(set(names)), "two alerts share a name"


@pytest.mark.parametrize("metric", [
    "up", "relais_dead_letters", "relais_outbox_backlog",
    "relais_http_request_duration_seconds", "relais_entrypoint_latency_seconds",
    "relais_entrypoint_errors_total",
])
def test_an_alert_watches(metric):
    exprs = [rule.get("expr", "") for group in load_rules()["groups"] for rule in group["rules"]]
    assert any(re.search(rf"\b{metric}(_bucket|_count)?\b", expr) for expr in exprs)


def test_monitoring_builds_with_its_generated_config_maps():
    """deploy/kustomization.yaml = deploy/k8s + the ConfigMaps generated from
    deploy/prometheus and deploy/grafana: every ConfigMap a pod mounts exists."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: `kubectl kustomize deploy` cannot be checked")
    built = subprocess.run([kubectl, "kustomize", str(ROOT / "deploy")],
                           capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stderr
    objects = [obj for obj in yaml.safe_load_all(built.stdout) if obj]
    config_maps = {obj["metadata"]["name"] for obj in objects if obj["kind"] == "ConfigMap"}
    mounted = {volume["configMap"]["name"] for obj in objects if obj["kind"] == "Deployment"
               for volume in obj["spec"]["template"]["spec"].get("volumes", [])
               if "configMap" in volume}
    assert {"prometheus", "grafana", "postgres-exporter"} <= {
        obj["metadata"]["name"] for obj in objects if obj["kind"] == "Deployment"}
    assert len(mounted) == 4 and mounted <= config_maps
    rules = next(obj for obj in objects if obj["kind"] == "ConfigMap"
                 and obj["metadata"]["name"].startswith("prometheus-config"))
    assert rules["data"]["rules.yml"] == (PROMETHEUS / "rules.yml").read_text()
