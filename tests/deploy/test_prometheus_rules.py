"""The alert rules, checked and unit-tested by Prometheus's own promtool (Debian's
prometheus package; scripts/test installs it): every alert has a case that
fires it and one that does not (deploy/prometheus/rules*.test.yml)."""
from pathlib import Path

import pytest
import yaml

from devtools.prometheus import promtool

PROMETHEUS = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
TEST_FILES = sorted(PROMETHEUS.glob("rules*.test.yml"))


def alerts():
    rules = yaml.safe_load((PROMETHEUS / "rules.yml").read_text())
    return [rule["alert"] for group in rules["groups"] for rule in group["rules"]
            if "alert" in rule]


def test_rules_and_compose_config_are_valid():
    checked = promtool("check", "rules", str(PROMETHEUS / "rules.yml"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    for name in ("prometheus.yml", "prometheus.k8s.yml"):  # compose, Kubernetes
        config = promtool("check", "config", "--syntax-only", str(PROMETHEUS / name))
        assert config.returncode == 0, config.stdout + config.stderr


@pytest.mark.parametrize("path", TEST_FILES, ids=lambda path: path.name)
def test_rules_unit_tests_pass(path):
    result = promtool("test", "rules", str(path), timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_firing_case_and_a_silent_case():
    """A case fires an alert when it lists it in exp_alerts; it stays silent
    when exp_alerts is empty for it."""
    fired, silent = set(), set()
    for path in TEST_FILES:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (fired if check.get("exp_alerts") else silent).add(check["alertname"])
    assert set(alerts()) - fired == set(), "alerts no test fires"
    assert set(alerts()) - silent == set(), "alerts no test keeps silent"
