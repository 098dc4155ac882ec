"""Make a fresh identity database usable: a signing key, the network's own
organisation and a first network admin. Idempotent.

    python -m services.identity.bootstrap   (reads RELAIS_BOOTSTRAP_ADMIN_EMAIL/PASSWORD)
    python -m services.identity.bootstrap --rotate-key

Rotating adds a new signing key: it is published at once and signs after
tokens.PUBLISH_BEFORE_SIGNING; keys replaced more than tokens.RETIRE_AFTER ago
(every token they signed has expired) are removed. Run it, say, monthly.
"""
import sys
from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from common import config
from common.db import make_engine
from common.production import refuse_development_secrets
from services.identity import tokens
from services.identity.hashing import hasher
from services.identity.models import Organisation, SigningKey, User

NETWORK_NAME = "Relais des Possibles"


def ensure_signing_key(session, private_pem=None):
    if private_pem is None and session.execute(select(SigningKey.kid).limit(1)).first():
        return
    private_pem = private_pem or tokens.generate_private_pem()
    kid = tokens.key_id(private_pem)
    if session.get(SigningKey, kid) is None:
        session.add(SigningKey(kid=kid, private_pem=private_pem))


def rotate_signing_key(session, now=None):
    now = now or datetime.now(timezone.utc)
    session.add(_new_key(now))
    keys = session.execute(select(SigningKey).order_by(SigningKey.created_at.desc())).scalars().all()
    # A key stops signing when its successor starts; retire it once its last
    # tokens have expired.
    for newer, older in zip(keys, keys[1:]):
        if newer.created_at is not None and \
                newer.created_at + tokens.PUBLISH_BEFORE_SIGNING + tokens.RETIRE_AFTER < now:
            session.delete(older)


def _new_key(now):
    # Stamped with the same clock that later decides when it signs and when its
    # predecessor retires (current_signing_key), not PostgreSQL's.
    private_pem = tokens.generate_private_pem()
    return SigningKey(kid=tokens.key_id(private_pem), private_pem=private_pem, created_at=now)


def ensure_network_admin(session, email, password):
    network = session.execute(
        select(Organisation).where(Organisation.kind == "network")).scalars().first()
    if network is None:
        network = Organisation(kind="network", name=NETWORK_NAME)
        session.add(network)
        session.flush()
    admin = session.execute(
        select(User).where(func.lower(User.email) == email.lower())).scalar_one_or_none()
    if admin is None:
        session.add(User(organisation_id=network.id, email=email, full_name="Network admin",
                         roles=["network_admin"], relay_ids=[],
                         password_hash=hasher.hash(password)))


def bootstrap(database_url, admin_email, admin_password, private_pem=None):
    engine = make_engine(database_url)
    with Session(engine) as session, session.begin():
        ensure_signing_key(session, private_pem)
        if admin_email and admin_password:
            ensure_network_admin(session, admin_email, admin_password)
    engine.dispose()


def main():
    refuse_development_secrets("identity-bootstrap")
    if sys.argv[1:] == ["--rotate-key"]:
        engine = make_engine(config.database_url("identity"))
        with Session(engine) as session, session.begin():
            rotate_signing_key(session)
        engine.dispose()
        print("identity: new signing key published; it signs in "
              f"{int(tokens.PUBLISH_BEFORE_SIGNING.total_seconds())} s")
        return
    pem = config.env("JWT_PRIVATE_KEY")
    pem_file = config.env("JWT_PRIVATE_KEY_FILE")
    if pem_file and not pem:
        pem = open(pem_file).read()
    bootstrap(config.database_url("identity"), config.env("BOOTSTRAP_ADMIN_EMAIL"),
              config.env("BOOTSTRAP_ADMIN_PASSWORD"), pem)
    print("identity: signing key and network admin in place")


if __name__ == "__main__":
    sys.exit(main())
