"""Write the production overlay's PrometheusRule from deploy/prometheus/rules.yml.

The alerts have one copy, ``deploy/prometheus/rules.yml`` (read by Prometheus in
compose, ``scripts/run`` and the base manifests, and tested by promtool). The
Prometheus Operator wants them as a ``PrometheusRule`` object, which kustomize
cannot make from a file outside the overlay's folder; so this writes it, and
tests/deploy/test_production_overlay.py fails while it differs from rules.yml.

    python -m devtools.prometheus_rule      # after editing rules.yml
"""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "deploy" / "prometheus" / "rules.yml"
PROMETHEUS_RULE = ROOT / "deploy" / "overlays" / "production" / "prometheus-rule.yaml"

HEADER = """\
# GENERATED from deploy/prometheus/rules.yml by `python -m devtools.prometheus_rule`:
# edit rules.yml, then run that command. The alerts for the Prometheus Operator,
# picked up like monitoring.yaml's monitors (label `release: prometheus`).
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: relais
  labels:
    release: prometheus
spec:
"""


def prometheus_rule(rules_text):
    """rules.yml's text under ``spec:`` (a rule file is a PrometheusRule's spec),
    comments and layout kept."""
    lines = rules_text.splitlines()
    return HEADER + "".join(f"  {line}\n" if line.strip() else "\n" for line in lines)


def main():
    PROMETHEUS_RULE.write_text(prometheus_rule(RULES.read_text()))
    print(f"wrote {PROMETHEUS_RULE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
