"""``scripts/run``: prepare and start the whole network, add demo data, print
where to look, and keep running until Ctrl-C."""
import signal
import time

from devtools import demo
from devtools.network import Network
from common.config import SERVICE_HTTP_PORTS


def main():
    network = Network(prometheus_port=9090, postgres_exporter_port=9187)
    print("==> preparing databases and the first admin", flush=True)
    network.prepare()
    print("==> starting the SMTP sink, identity, booking, billing, notify, the gateway, "
          "the web pages and Prometheus",
          flush=True)
    try:
        network.start()
        seeded = demo.seed(network.gateway_url, network.admin_email, network.admin_password,
                           network.database_url("billing"))
        metrics = "  ".join(f"{name} http://127.0.0.1:{port}/metrics"
                            for name, port in SERVICE_HTTP_PORTS.items())
        print(f"""
Relais is running.
  web pages         {network.web_url}/
  API docs          {network.gateway_url}/docs   (OpenAPI: {network.gateway_url}/openapi.json)
  readiness         {network.gateway_url}/ready
  mails sent        {network.mail_url}/   (files in {network.maildir}/new)
  RabbitMQ          http://127.0.0.1:15672/   (guest / guest; each component logs in as
                    relais-<component> / relais-dev-<component>; dead letters:
                    RELAIS_AMQP_URI={network.amqp_uri_of('ops')} python -m common.deadletters list)
  metrics           gateway {network.gateway_url}/metrics
                    {metrics}
  Prometheus        {network.prometheus_url}/   (alerts: {network.prometheus_url}/alerts)
  logs              {network.var_dir / 'log'}/
  network admin     {network.admin_email} / {network.admin_password}
  demo member       {seeded['employee']['email']} / {demo.DEMO_PASSWORD}
  demo manager      {seeded['manager']['email']} / {demo.DEMO_PASSWORD}
  demo HR admin     {seeded['corporate_admin']['email']} / {demo.DEMO_PASSWORD}
  demo programme    {seeded['programme_admin']['email']} / {demo.DEMO_PASSWORD} (its admin)
  demo resident     {seeded['resident']['email']} / {demo.DEMO_PASSWORD} (not enrolled yet)
  demo company      {seeded['company']['id']} (monthly budget {demo.DEMO_BUDGET_CENTS // 100} € excl. VAT)
  demo booking      {seeded['booking']['id']} ({seeded['booking']['date']}, {seeded['booking']['slot']})
  demo invoice      {seeded['invoice']['number']} (corporate admin rh@mutuelle.example / {demo.DEMO_PASSWORD}:
                    GET /v1/documents/{seeded['invoice']['id']}/lines.csv)
Press Ctrl-C to stop.""", flush=True)
        signal.signal(signal.SIGTERM, lambda *args: (_ for _ in ()).throw(KeyboardInterrupt))
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        print("==> stopping", flush=True)
        network.stop()


if __name__ == "__main__":
    main()
