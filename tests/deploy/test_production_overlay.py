"""The production overlay (deploy/overlays/production), as `kubectl kustomize`
builds it: every object validates (built-in kinds strictly against Kubernetes'
schemas, the operators' custom resources against their CustomResourceDefinitions
in tests/deploy/crds), and the pieces fit together: budgets cover every
Deployment, network policies select real pods and open only what the README
says, autoscalers watch queues the services really consume, monitors scrape the
jobs the alerts read, and no placeholder secret can reach a running process.

Pods that the operators make (RabbitMQ's nodes, PostgreSQL's instances and
pooler) are not in the build: OPERATOR_PODS and OPERATOR_SERVICES describe them
by the labels and ports each operator documents.
"""
import copy
import functools
import re
import secrets
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml
from kubernetes_validate import validate
from nameko.events import EventHandler

from common.production import DEVELOPMENT_MARKERS, development_secrets
from devtools.prometheus_rule import PROMETHEUS_RULE, RULES, prometheus_rule
from services.billing.service import BillingService
from services.booking.service import BookingService
from services.identity.service import IdentityService
from services.notify.service import NotifyService

ROOT = Path(__file__).resolve().parents[2]
OVERLAY = ROOT / "deploy" / "overlays" / "production"
CRDS = Path(__file__).resolve().parent / "crds"
K8S_VERSION = "1.30"
SERVICE_CLASSES = (IdentityService, BookingService, BillingService, NotifyService)
SERVICES = tuple(cls.name for cls in SERVICE_CLASSES)
PUBLIC = {"gateway": 8080, "web": 8090}

# What the operators create from the overlay's custom resources.
OPERATOR_PODS = {
    ("RabbitmqCluster", "rabbitmq"): {
        "labels": {"app.kubernetes.io/name": "rabbitmq", "app.kubernetes.io/component": "rabbitmq",
                   "app.kubernetes.io/part-of": "rabbitmq"},
        "ports": {"amqp": 5672, "management": 15672, "prometheus": 15692}},
    ("Cluster", "relais-db"): {
        "labels": {"cnpg.io/cluster": "relais-db", "cnpg.io/podRole": "instance"},
        "ports": {"postgresql": 5432, "metrics": 9187, "status": 8000}},
    ("Pooler", "postgres"): {
        "labels": {"cnpg.io/poolerName": "postgres", "cnpg.io/cluster": "relais-db",
                   "cnpg.io/podRole": "pooler"},
        "ports": {"pgbouncer": 5432, "metrics": 9127}},
}
OPERATOR_SERVICES = {  # name -> (labels, port names)
    "rabbitmq": ({"app.kubernetes.io/name": "rabbitmq", "app.kubernetes.io/component": "rabbitmq",
                  "app.kubernetes.io/part-of": "rabbitmq"}, {"amqp", "management", "prometheus"}),
    "postgres": ({"cnpg.io/poolerName": "postgres"}, {"pgbouncer"}),
}
OPERATOR_SECRETS = {  # Secret -> its keys, made by the operator of (kind, name)
    "rabbitmq-default-user": (("RabbitmqCluster", "rabbitmq"), {"username", "password"}),
    "relais-db-app": (("Cluster", "relais-db"), {"username", "password"}),
}
# Made by ops in the cluster (deploy/overlays/production/README.md says how).
OPS_SECRETS = {"relais-db-backup": {"ACCESS_KEY_ID", "ACCESS_SECRET_KEY"}}


def kustomize_build(path):
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail("kubectl is not on PATH: it builds the kustomize overlay (kubectl kustomize)")
    built = subprocess.run([kubectl, "kustomize", str(path)], capture_output=True, text=True,
                           timeout=120)
    assert built.returncode == 0, built.stderr
    return built.stdout


@pytest.fixture(scope="module")
def built():
    return kustomize_build(OVERLAY)


@pytest.fixture(scope="module")
def objects(built):
    return [obj for obj in yaml.safe_load_all(built) if obj]


def of_kind(objects, kind):
    return [obj for obj in objects if obj["kind"] == kind]


def named(objects, kind, name):
    (found,) = [obj for obj in of_kind(objects, kind) if obj["metadata"]["name"] == name]
    return found


# --- schemas -------------------------------------------------------------------

def crd_schemas():
    """{(apiVersion, kind): openAPIV3Schema} of every served version."""
    schemas = {}
    for path in sorted(CRDS.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if version.get("served", True):
                schemas[(f"{group}/{version['name']}", kind)] = version["schema"]["openAPIV3Schema"]
    return schemas


def closed(schema):
    """The schema with unknown fields refused, as kubernetes-validate's strict
    mode does for built-in kinds (the API server would silently prune them: a
    misspelt field would be lost without a word)."""
    schema = copy.deepcopy(schema)

    def close(node):
        if isinstance(node, dict):
            if ("properties" in node and "additionalProperties" not in node
                    and not node.get("x-kubernetes-preserve-unknown-fields")):
                node["additionalProperties"] = False
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)
    close(schema)
    return schema


SCHEMAS = crd_schemas()


@functools.cache
def validator_for(api_version, kind):
    return jsonschema.Draft7Validator(closed(SCHEMAS[(api_version, kind)]))


def schema_errors(obj):
    validator = validator_for(obj["apiVersion"], obj["kind"])
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
            for error in validator.iter_errors(obj)]


def is_custom(obj):
    return (obj["apiVersion"], obj["kind"]) in SCHEMAS


def test_the_overlay_runs_on_the_operators(objects):
    kinds = {obj["kind"] for obj in objects}
    assert {"RabbitmqCluster", "Cluster", "Pooler", "ScheduledBackup", "ScaledObject",
            "TriggerAuthentication", "HorizontalPodAutoscaler", "PodDisruptionBudget",
            "NetworkPolicy", "ServiceMonitor", "PodMonitor", "PrometheusRule"} <= kinds
    assert named(objects, "RabbitmqCluster", "rabbitmq")["spec"]["replicas"] == 3
    assert named(objects, "Cluster", "relais-db")["spec"]["instances"] == 3
    assert named(objects, "ScheduledBackup", "relais-db-nightly")["spec"]["cluster"]["name"] == \
        "relais-db"
    assert named(objects, "Pooler", "postgres")["spec"]["cluster"]["name"] == "relais-db"
    # what the operators replace is gone: no second broker or database, no mail sink
    assert not of_kind(objects, "StatefulSet")
    deployments = {obj["metadata"]["name"] for obj in of_kind(objects, "Deployment")}
    assert deployments == {*SERVICES, "gateway", "web", "redis"}
    assert {obj["metadata"]["namespace"] for obj in objects if obj["kind"] != "Namespace"} == \
        {"relais"}


def test_built_in_objects_validate_strictly(objects):
    built_in = [obj for obj in objects if not is_custom(obj)]
    assert len(built_in) > 30
    for obj in built_in:
        validate(obj, K8S_VERSION, strict=True)


def test_custom_resources_validate_against_their_definitions(objects):
    custom = [obj for obj in objects if is_custom(obj)]
    assert len(custom) >= 12
    for obj in custom:
        assert schema_errors(obj) == [], f"{obj['kind']} {obj['metadata']['name']}"


@pytest.mark.parametrize("kind, path, value", [
    ("RabbitmqCluster", ["spec", "replica"], 3),                     # misspelt field
    ("Cluster", ["spec", "instances"], "three"),                     # wrong type
    ("ScaledObject", ["spec", "scaleTargetRef"], None),              # required field
    ("Pooler", ["spec", "pgbouncer", "poolMode"], "statement-ish"),  # not in the enum
])
def test_the_definitions_catch_a_wrong_custom_resource(objects, kind, path, value):
    obj = copy.deepcopy(of_kind(objects, kind)[0])
    parent = obj
    for key in path[:-1]:
        parent = parent[key]
    if value is None:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    assert schema_errors(obj)


# --- pods, and who selects them -------------------------------------------------

def pods(objects):
    """(name, labels, {port name: number}) of every pod the cluster will run."""
    found = []
    for workload in of_kind(objects, "Deployment"):
        template = workload["spec"]["template"]
        ports = {port["name"]: port["containerPort"]
                 for container in template["spec"]["containers"]
                 for port in container.get("ports", []) if "name" in port}
        found.append((workload["metadata"]["name"], template["metadata"]["labels"], ports))
    for (kind, name), pod in OPERATOR_PODS.items():
        named(objects, kind, name)  # the operator makes these pods only if the resource is there
        found.append((name, pod["labels"], pod["ports"]))
    return found


def selects(selector, labels):
    if selector is None:
        return False
    if not all(labels.get(key) == value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        value, operator = labels.get(expression["key"]), expression["operator"]
        if operator == "In" and value not in expression["values"]:
            return False
        if operator == "NotIn" and value in expression["values"]:
            return False
        if operator == "Exists" and value is None:
            return False
        if operator == "DoesNotExist" and value is not None:
            return False
    return True


def selected(objects, selector):
    return [name for name, labels, _ in pods(objects) if selects(selector, labels)]


def test_every_deployment_has_exactly_one_disruption_budget(objects):
    budgets = of_kind(objects, "PodDisruptionBudget")
    for workload in of_kind(objects, "Deployment"):
        labels = workload["spec"]["template"]["metadata"]["labels"]
        covering = [b["metadata"]["name"] for b in budgets if selects(b["spec"]["selector"], labels)]
        assert len(covering) == 1, f"{workload['metadata']['name']}: {covering}"
        (budget,) = [b for b in budgets if b["metadata"]["name"] == covering[0]]
        if workload["spec"].get("replicas", 1) < 2:
            # minAvailable 1 on a lone pod would block every node drain
            assert budget["spec"].get("maxUnavailable") == 1, workload["metadata"]["name"]
    for budget in budgets:
        assert selected(objects, budget["spec"]["selector"]), budget["metadata"]["name"]


def peers(rule, direction):
    return rule.get("from" if direction == "ingress" else "to")


def test_every_network_policy_selects_pods_and_names_real_ports(objects):
    every_pod = pods(objects)
    for policy in of_kind(objects, "NetworkPolicy"):
        name, spec = policy["metadata"]["name"], policy["spec"]
        targets = [pod for pod in every_pod if spec["podSelector"] == {}
                   or selects(spec["podSelector"], pod[1])]
        assert targets, f"{name} selects no pod"
        for direction in ("ingress", "egress"):
            for rule in spec.get(direction, []):
                for peer in peers(rule, direction) or []:
                    if "podSelector" in peer and "namespaceSelector" not in peer:
                        assert selected(objects, peer["podSelector"]), f"{name}: {peer}"
                for port in rule.get("ports", []):
                    if isinstance(port["port"], str):
                        # a named port must exist on the pods it is about
                        about = targets if direction == "ingress" else [
                            pod for pod in every_pod
                            for peer in peers(rule, direction) or []
                            if selects(peer.get("podSelector"), pod[1])]
                        assert about and all(port["port"] in pod[2] for pod in about), \
                            f"{name}: port {port['port']}"


def policies_for(objects, labels):
    return [p for p in of_kind(objects, "NetworkPolicy")
            if p["spec"]["podSelector"] == {} or selects(p["spec"]["podSelector"], labels)]


def test_every_pod_is_denied_by_default_and_may_resolve_names(objects):
    for name, labels, _ in pods(objects):
        policies = policies_for(objects, labels)
        types = {t for p in policies for t in p["spec"]["policyTypes"]}
        assert types == {"Ingress", "Egress"}, name
        dns = [rule for p in policies for rule in p["spec"].get("egress", [])
               if {53} == {port["port"] for port in rule.get("ports", [])}]
        assert dns and {port["protocol"] for rule in dns for port in rule["ports"]} == {"UDP", "TCP"}
        assert all(peer["namespaceSelector"]["matchLabels"] ==
                   {"kubernetes.io/metadata.name": "kube-system"}
                   for rule in dns for peer in rule["to"])


def test_only_the_gateway_and_the_web_pages_are_reachable_from_anywhere(objects):
    open_to_anyone = {}
    for name, labels, _ in pods(objects):
        for policy in policies_for(objects, labels):
            for rule in policy["spec"].get("ingress", []):
                sources = rule.get("from")
                if not sources or any("ipBlock" in peer for peer in sources):
                    open_to_anyone.setdefault(name, set()).update(
                        port["port"] for port in rule.get("ports", [{"port": "every port"}]))
    assert open_to_anyone == {name: {port} for name, port in PUBLIC.items()}


def egress_of(objects, name):
    """{(peer pods or 'anywhere' or 'outside the cluster', port)} a pod may reach, DNS aside."""
    (labels,) = [labels for pod, labels, _ in pods(objects) if pod == name]
    reach = set()
    for policy in policies_for(objects, labels):
        for rule in policy["spec"].get("egress", []):
            ports = {port["port"] for port in rule.get("ports", [])}
            if ports == {53}:
                continue
            destinations = rule.get("to")
            if not destinations:
                targets = {"anywhere"}
            else:
                targets = set()
                for peer in destinations:
                    if "ipBlock" in peer:
                        targets.add("outside the cluster")
                    else:
                        targets.update(selected(objects, peer["podSelector"]))
            reach |= {(target, port) for target in targets for port in ports}
    return reach


@pytest.mark.parametrize("name", SERVICES)
def test_a_service_reaches_only_the_broker_and_its_database(objects, name):
    expected = {("rabbitmq", 5672), ("postgres", 5432)}
    if name == "notify":
        # mail through the SMTP relay, webhooks to partners' HTTPS endpoints
        expected |= {("anywhere", 25), ("anywhere", 465), ("anywhere", 587),
                     ("outside the cluster", 443)}
    assert egress_of(objects, name) == expected


def test_the_public_components_reach_only_what_they_call(objects):
    assert egress_of(objects, "gateway") == {("rabbitmq", 5672), ("redis", 6379)}
    assert egress_of(objects, "web") == {("gateway", 8080)}


# --- autoscaling ------------------------------------------------------------------

def service_queues(cls):
    """The queues a service consumes, named as nameko names them
    (nameko.rpc.RPC_QUEUE_TEMPLATE, nameko/events.py), with their retry and
    dead-letter queues (common/consumer.py)."""
    handlers = [(name, entrypoint) for name in dir(cls)
                for entrypoint in getattr(getattr(cls, name), "nameko_entrypoints", ())
                if isinstance(entrypoint, EventHandler)]
    events = {f"evt-{ep.source_service}-{ep.event_type}--{cls.name}.{method}"
              for method, ep in handlers}
    parked = {f"{queue}.retry.500" for queue in events} | {f"{queue}.dead" for queue in events}
    return {f"rpc-{cls.name}"} | events, parked


def test_consumers_scale_on_the_queues_they_consume(objects):
    deployments = {obj["metadata"]["name"] for obj in of_kind(objects, "Deployment")}
    scaled = {obj["spec"]["scaleTargetRef"]["name"]: obj for obj in of_kind(objects, "ScaledObject")}
    assert set(scaled) == set(SERVICES) and set(scaled) <= deployments
    everyone = {cls.name: service_queues(cls) for cls in SERVICE_CLASSES}
    for name, (consumed, parked) in everyone.items():
        scaled_object = scaled[name]
        assert scaled_object["spec"]["minReplicaCount"] >= 2
        (trigger,) = scaled_object["spec"]["triggers"]
        assert trigger["type"] == "rabbitmq"
        metadata = trigger["metadata"]
        assert metadata["useRegex"] == "true" and metadata["operation"] == "sum"
        pattern = re.compile(metadata["queueName"])
        counted = {queue for queue in consumed if pattern.search(queue)}
        assert counted == consumed, f"{name} does not count {consumed - counted}"
        assert not any(pattern.search(queue) for queue in parked)
        others = {queue for other, (queues, _) in everyone.items() if other != name
                  for queue in queues}
        assert not any(pattern.search(queue) for queue in others), name
        auth = named(objects, "TriggerAuthentication", trigger["authenticationRef"]["name"])
        assert {ref["name"] for ref in auth["spec"]["secretTargetRef"]} == {"rabbitmq-default-user"}
    assert len(everyone["notify"][0]) > 10  # the queue names really came from the code


def test_no_deployment_has_two_autoscalers(objects):
    hpa_targets = [obj["spec"]["scaleTargetRef"]["name"]
                   for obj in of_kind(objects, "HorizontalPodAutoscaler")]
    keda_targets = [obj["spec"]["scaleTargetRef"]["name"] for obj in of_kind(objects, "ScaledObject")]
    assert "gateway" in hpa_targets
    assert len(hpa_targets + keda_targets) == len(set(hpa_targets + keda_targets))
    # web keeps sessions in Redis: any replica serves anyone, so it scales on CPU
    assert "web" in hpa_targets
    assert named(objects, "Deployment", "web")["spec"]["replicas"] >= 2


# --- monitoring ------------------------------------------------------------------

def alert_jobs():
    return set(re.findall(r'job="([a-z-]+)"', RULES.read_text())) | {
        job for alternatives in re.findall(r'job=~"([a-z|-]+)"', RULES.read_text())
        for job in alternatives.split("|")}


def monitored_jobs(objects):
    """job label -> the endpoints (Service or pod, port name) that feed it."""
    jobs = {}
    services = {obj["metadata"]["name"]: (obj["metadata"].get("labels", {}),
                                          {port["name"] for port in obj["spec"]["ports"]})
                for obj in of_kind(objects, "Service")}
    services.update(OPERATOR_SERVICES)
    for monitor in of_kind(objects, "ServiceMonitor"):
        matching = {name: ports for name, (labels, ports) in services.items()
                    if selects(monitor["spec"]["selector"], labels)}
        assert matching, monitor["metadata"]["name"]
        for endpoint in monitor["spec"]["endpoints"]:
            for service, ports in matching.items():
                assert endpoint["port"] in ports, f"{service} has no port {endpoint['port']}"
                job = next((r["replacement"] for r in endpoint.get("relabelings", [])
                            if r.get("targetLabel") == "job"), None)
                if job is None:
                    job_label = monitor["spec"].get("jobLabel")
                    job = services[service][0][job_label] if job_label else service
                jobs.setdefault(job, set()).add((service, endpoint["port"]))
    for monitor in of_kind(objects, "PodMonitor"):
        for endpoint in monitor["spec"]["podMetricsEndpoints"]:
            matching = [(name, ports) for name, labels, ports in pods(objects)
                        if selects(monitor["spec"]["selector"], labels)]
            assert matching and all(endpoint["port"] in ports for _, ports in matching)
            (job,) = [r["replacement"] for r in endpoint["relabelings"] if r["targetLabel"] == "job"]
            jobs.setdefault(job, set()).update((name, endpoint["port"]) for name, _ in matching)
    return jobs


def test_every_job_the_alerts_read_is_scraped(objects):
    jobs = monitored_jobs(objects)
    assert {"gateway", *SERVICES, "rabbitmq", "rabbitmq-queues"} <= set(jobs)
    assert alert_jobs() <= set(jobs), alert_jobs() - set(jobs)
    # the queue alerts need the broker's per-queue families
    (detailed,) = [endpoint for monitor in of_kind(objects, "ServiceMonitor")
                   for endpoint in monitor["spec"]["endpoints"]
                   if endpoint["path"] == "/metrics/detailed"]
    assert "queue_consumer_count" in detailed["params"]["family"]


def test_the_prometheus_rule_is_rules_yml(objects):
    """One copy of the alerts: the PrometheusRule is generated from rules.yml."""
    assert PROMETHEUS_RULE.read_text() == prometheus_rule(RULES.read_text()), \
        "run `python -m devtools.prometheus_rule` after editing deploy/prometheus/rules.yml"
    (rule,) = of_kind(objects, "PrometheusRule")
    assert rule["spec"] == yaml.safe_load(RULES.read_text())
    monitors = of_kind(objects, "ServiceMonitor") + of_kind(objects, "PodMonitor")
    assert all(m["metadata"]["labels"]["release"] == rule["metadata"]["labels"]["release"]
               for m in monitors)


# --- secrets ----------------------------------------------------------------------

def secret_refs(node):
    """Every (Secret name, key) referred to anywhere in ``node``."""
    if isinstance(node, dict):
        if "secretKeyRef" in node and not node["secretKeyRef"].get("optional"):
            yield node["secretKeyRef"]["name"], node["secretKeyRef"]["key"]
        if set(node) >= {"name", "key"} and len(node) == 2 and isinstance(node["key"], str):
            yield node["name"], node["key"]
        for key, value in node.items():
            if key == "secretTargetRef":
                for ref in value:
                    yield ref["name"], ref["key"]
            elif key not in ("secretKeyRef", "configMapKeyRef"):
                yield from secret_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from secret_refs(value)


def test_every_secret_is_in_the_build_or_made_by_an_operator_or_by_ops(objects):
    in_build = {obj["metadata"]["name"]: set(obj.get("stringData", {})) | set(obj.get("data", {}))
                for obj in of_kind(objects, "Secret")}
    for obj in objects:
        for name, key in secret_refs(obj):
            if name in OPERATOR_SECRETS:
                (kind, owner), keys = OPERATOR_SECRETS[name]
                named(objects, kind, owner)
            else:
                keys = in_build.get(name) or OPS_SECRETS.get(name)
            assert keys and key in keys, f"{obj['kind']} {obj['metadata']['name']}: {name}/{key}"
    # and the Secret in git holds only what something reads
    used = {(name, key) for obj in objects for name, key in secret_refs(obj)}
    assert {("relais-secrets", key) for key in in_build["relais-secrets"]} <= used
    readme = (OVERLAY / "README.md").read_text()
    assert all(name in readme for name in OPS_SECRETS)
    # the broker and the database make their own credentials: none in git
    for kind, name in OPERATOR_PODS:
        assert "relais-secrets" not in yaml.safe_dump(named(objects, kind, name))


def resolved_env(container, objects, secret_values):
    """The container's environment as the kubelet gives it: references
    resolved, $(VAR) expanded."""
    config = {obj["metadata"]["name"]: obj["data"] for obj in of_kind(objects, "ConfigMap")}
    env = {}
    for entry in container.get("env", []):
        source = entry.get("valueFrom", {})
        if "configMapKeyRef" in source:
            ref = source["configMapKeyRef"]
            value = config[ref["name"]][ref["key"]]
        elif "secretKeyRef" in source:
            ref = source["secretKeyRef"]
            value = secret_values.get((ref["name"], ref["key"]))
            if value is None:
                continue  # an optional key left unset
        else:
            value = re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                           lambda match: env.get(match.group(1), match.group(0)), entry["value"])
        env[entry["name"]] = value
    return env


def relais_containers(objects):
    """(component as its production check names it, container) of every Relais process."""
    for workload in of_kind(objects, "Deployment"):
        pod = workload["spec"]["template"]["spec"]
        for container in pod.get("initContainers", []) + pod["containers"]:
            if container["image"].split(":")[0].endswith("relais"):
                name = workload["metadata"]["name"]
                component = {"migrate": "migrate", "bootstrap": "identity-bootstrap"}.get(
                    container["name"], name)
                yield component, container


def strong():
    return secrets.token_urlsafe(32)


def test_no_placeholder_gets_past_the_production_check(objects):
    """Every Relais process runs in production mode, so it refuses to start
    while the git placeholders are set; with real values, every one starts."""
    (placeholders,) = [obj for obj in of_kind(objects, "Secret")
                       if obj["metadata"]["name"] == "relais-secrets"]
    as_in_git = {("relais-secrets", key): value for key, value in placeholders["stringData"].items()}
    assert all(value.startswith("REPLACE-ME") for value in as_in_git.values())
    from_operators = {(name, key): strong() for name, (_, keys) in OPERATOR_SECRETS.items()
                      for key in keys}
    replaced = {ref: strong() for ref in as_in_git}
    checked = set()
    for component, container in relais_containers(objects):
        env = resolved_env(container, objects, {**as_in_git, **from_operators})
        assert env["RELAIS_ENVIRONMENT"] == "production", component
        carrying = {name for name, value in env.items() if "REPLACE-ME" in value}
        problems = " ".join(development_secrets(component, env))
        assert all(name in problems for name in carrying), (component, carrying, problems)
        assert development_secrets(component, resolved_env(
            container, objects, {**replaced, **from_operators})) == [], component
        checked |= carrying
    assert {"RELAIS_WEB_SECRET", "RELAIS_IDEMPOTENCY_HMAC_KEY",
            "RELAIS_BOOTSTRAP_ADMIN_PASSWORD"} <= checked


def test_no_placeholder_outside_a_secret(built, objects):
    for obj in objects:
        if obj["kind"] != "Secret":
            text = yaml.safe_dump(obj)
            assert not any(marker in text for marker in DEVELOPMENT_MARKERS), \
                f"{obj['kind']} {obj['metadata']['name']}"
